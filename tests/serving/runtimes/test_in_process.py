"""The in-process runtime (fast tier). Explanations (the registry's answers stubbed at the one
function that reads them): the version's background is read once, also when it has none; a method
that needs one then answers NotExplainable naming the cause, trees are explained without it. A
pipeline's predictions and probabilities together: what `predict` and `predict_proba` answer, its
transforms run once."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from mlops_base.explain import background as background_module
from mlops_base.settings import load_settings
from serving.runtimes.base import ModelRef, NotExplainable, RuntimeInfo
from serving.runtimes.in_process import InProcessRuntime

X, Y = load_iris(return_X_y=True, as_frame=True)


def _runtime(model) -> InProcessRuntime:
    runtime = InProcessRuntime(load_settings("dev", mlflow_tracking_uri="http://127.0.0.1:9"))
    runtime._native = model
    runtime.info = RuntimeInfo(ModelRef("http://127.0.0.1:9", "m", "1", "run", "src"), [], X.head(1))
    return runtime


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Each background the runtime asks the registry for; the version has none."""
    asked: list[str] = []

    def fetch(tracking_uri: str, model_name: str, version: str):
        asked.append(version)
        return None

    monkeypatch.setattr(background_module, "fetch_background", fetch)
    return asked


def test_a_version_without_a_background_is_asked_for_it_once(reads):
    runtime = _runtime(LogisticRegression(max_iter=500).fit(X, Y))
    for _ in range(3):
        with pytest.raises(NotExplainable, match="has no background sample logged"):
            runtime.explain(X.head(2))
    assert reads == ["1"]


def test_trees_are_explained_without_a_background(reads):
    runtime = _runtime(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, Y))
    explained = runtime.explain(X.head(2))
    assert explained.method == "tree_shap" and reads == ["1"]
    assert np.abs(explained.output() - runtime._native.predict_proba(X.head(2))).max() <= 1e-9


def test_a_pipeline_scores_and_gives_probabilities_with_its_transforms_run_once():
    frame = X.assign(size=np.where(X["petal length (cm)"] > 3, "large", "small"))
    calls = []

    def counted(x):
        calls.append(len(x))
        return x

    encode = ColumnTransformer([("size", OneHotEncoder(), ["size"])], remainder="passthrough")
    model = make_pipeline(FunctionTransformer(counted), encode, LogisticRegression(max_iter=500)).fit(frame, Y)
    runtime = _runtime(model)
    runtime._model = model
    runtime.info.classes = list(model.classes_)
    expected = (model.predict(frame), model.predict_proba(frame))
    calls.clear()
    predictions, probabilities = runtime.predict_with_proba(frame)
    assert calls == [len(frame)]
    assert (predictions == expected[0]).all() and (probabilities == expected[1]).all()
