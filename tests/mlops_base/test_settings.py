"""Settings: env files, environment-variable overrides, and refusals."""

from __future__ import annotations

import pytest

from mlops_base.aliases import ALIASES, Alias
from mlops_base.settings import REPO_ROOT, SettingsError, load_settings


def test_dev_is_the_default_env(monkeypatch):
    monkeypatch.delenv("MLOPS_ENV", raising=False)
    monkeypatch.delenv("MLOPS_STATE_DIR", raising=False)
    settings = load_settings()
    assert settings.mlops_env == "dev"
    assert settings.state_dir == REPO_ROOT / ".mlops" / "dev"
    assert settings.min_accuracy == 0.9
    assert settings.target_alias == "B"


def test_env_variables_override_the_env_file(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://registry.example:5000")
    monkeypatch.setenv("MODEL_NAME", "other")
    monkeypatch.setenv("ESTIMATOR_PARAMS", '{"max_depth": 2}')
    settings = load_settings("prod")
    assert settings.mlflow_tracking_uri == "http://registry.example:5000"
    assert settings.model_name == "other"
    assert settings.estimator_params == {"max_depth": 2}
    assert settings.min_accuracy == 0.93  # from envs/prod


def test_mlops_env_selects_the_env(monkeypatch):
    monkeypatch.setenv("MLOPS_ENV", "prod")
    assert load_settings().alias_selection_mode == "canary"


def test_unknown_env_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown env 'staging'.*known envs: dev, prod"):
        load_settings("staging")


def test_estimator_must_be_scikit_learn(monkeypatch):
    monkeypatch.setenv("ESTIMATOR", "os.system")
    with pytest.raises(SettingsError, match="ESTIMATOR='os.system'.*scikit-learn class path"):
        load_settings("dev")


@pytest.mark.parametrize("name", ["TARGET_ALIAS", "DEFAULT_ALIAS"])
def test_an_alias_outside_a_and_b_is_refused_naming_the_allowed_values(monkeypatch, name):
    monkeypatch.setenv(name, "C")
    with pytest.raises(SettingsError, match=f"{name}='C': Input should be 'A' or 'B'"):
        load_settings("dev")


def test_aliases_are_one_closed_type_that_reads_as_plain_strings():
    assert ALIASES == (Alias.A, Alias.B)
    settings = load_settings("dev", target_alias="A")
    assert settings.target_alias is Alias.A and f"{settings.target_alias}" == "A"
