"""The team's training code: ESTIMATOR factories and TRAINER functions, their failures as the user
sees them, and the code version that follows their source."""

from __future__ import annotations

import importlib
import sys

import pytest

from core_assets.lib.data import builtin_features
from core_assets.lib.metrics import score
from core_assets.lib.training import TrainingError, TrainingSpec, fit_model, flavour_of, training_code_version

TRAINERS = """
from sklearn.linear_model import LogisticRegression


def good(x, y, params):
    return LogisticRegression(**params).fit(x, y)


def raises(x, y, params):
    columns = list(x.columns)
    return columns[99]


def no_predict(x, y, params):
    return {"weights": [1, 2]}
"""


@pytest.fixture
def team_module(tmp_path, monkeypatch):
    """A module of the team's own, importable from PYTHONPATH as `team_trainers`."""
    path = tmp_path / "team_trainers.py"
    path.write_text(TRAINERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield path
    sys.modules.pop("team_trainers", None)


def test_a_trainer_function_gets_the_split_and_the_params(team_module):
    features = builtin_features()
    model = fit_model(TrainingSpec(trainer="team_trainers:good", params={"C": 0.5}), features.x_train, features.y_train)
    assert model.C == 0.5 and score(model, features.x_test, features.y_test, "classification")[0]["accuracy"] > 0.8


def test_an_estimator_may_be_a_factory_function():
    features = builtin_features("diabetes", task="regression")
    spec = TrainingSpec("regression", "model_examples.diabetes:train", {"max_iter": 20})
    with pytest.raises(TrainingError, match="ESTIMATOR model_examples.diabetes:train raised TypeError"):
        fit_model(spec, features.x_train, features.y_train)  # a TRAINER's signature, named as ESTIMATOR
    model = fit_model(
        TrainingSpec("regression", trainer=spec.estimator, params=spec.params), features.x_train, features.y_train
    )
    metrics, _ = score(model, features.x_test, features.y_test, "regression")
    assert set(metrics) == {"r2", "rmse", "mae"} and metrics["r2"] > 0.2


def test_a_failing_trainer_is_summarised_with_its_line(team_module):
    features = builtin_features()
    with pytest.raises(TrainingError) as error:
        fit_model(TrainingSpec(trainer="team_trainers:raises"), features.x_train, features.y_train)
    message = str(error.value)
    assert message.startswith("TRAINER team_trainers:raises raised IndexError: list index out of range")
    assert "team_trainers.py:11 in raises: return columns[99]" in message


def test_a_result_without_predict_is_refused(team_module):
    features = builtin_features()
    with pytest.raises(TrainingError, match="team_trainers:no_predict returned a dict, which has no predict()"):
        fit_model(TrainingSpec(trainer="team_trainers:no_predict"), features.x_train, features.y_train)


def test_an_unknown_import_path_is_named():
    with pytest.raises(TrainingError, match="cannot import 'nowhere.module:train': ModuleNotFoundError"):
        fit_model(TrainingSpec(trainer="nowhere.module:train"), None, None)


def test_editing_the_trainer_changes_the_code_version(team_module):
    spec = TrainingSpec(trainer="team_trainers:good")
    before = training_code_version(spec)
    assert training_code_version(spec) == before
    team_module.write_text(TRAINERS.replace("LogisticRegression(**params)", "LogisticRegression(max_iter=900)"))
    importlib.invalidate_caches()
    assert training_code_version(spec) != before
    assert training_code_version(TrainingSpec(trainer="team_trainers:good", params={"C": 2})) != before


def test_the_flavour_follows_the_library():
    import lightgbm
    from sklearn.linear_model import LogisticRegression

    assert flavour_of(LogisticRegression()) == "sklearn"
    assert flavour_of(lightgbm.LGBMRegressor()) == "lightgbm"


def test_classification_scores_probabilities_when_the_model_has_them():
    features = builtin_features()
    model = fit_model(
        TrainingSpec(estimator="sklearn.linear_model.LogisticRegression", params={"max_iter": 500}),
        features.x_train,
        features.y_train,
    )
    metrics, predictions = score(model, features.x_test, features.y_test, "classification")
    assert set(metrics) == {"accuracy", "f1_macro", "log_loss", "roc_auc"} and len(predictions) == 38
