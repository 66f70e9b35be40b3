"""Settings: env files, environment-variable overrides, and refusals."""

from __future__ import annotations

import pytest
from pydantic import Field

import optional_layers.alerts  # noqa: F401 - its settings hold a secret (the Slack webhook)
from mlops_base.aliases import ALIASES, Alias
from mlops_base.layer_settings import LayerSettings, all_secret_names
from mlops_base.settings import REPO_ROOT, Settings, SettingsError, load_settings


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
    known = "churn-pipeline, dev, diabetes-regression, lightgbm-breast-cancer, prod, prod-local"
    with pytest.raises(ValueError, match=f"unknown env 'staging'.*known envs: {known}"):
        load_settings("staging")


@pytest.mark.parametrize(("name", "value"), [("ESTIMATOR", "LogisticRegression"), ("TRAINER", "pkg.module.train")])
def test_estimator_and_trainer_must_be_import_paths(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"{name}='{value}': String should match pattern"):
        load_settings("dev")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"TASK": "regression", "GATE_METRIC": "accuracy", "GATE_THRESHOLD": "0.5"}, "does not judge a regression"),
        ({"GATE_METRIC": "roc_auc"}, "GATE_METRIC 'roc_auc' needs GATE_THRESHOLD"),
        ({"TASK": "regression"}, "TASK=regression needs GATE_METRIC and GATE_THRESHOLD"),
        ({"GATE_METRIC": "auc"}, "GATE_METRIC='auc'"),
    ],
)
def test_a_gate_that_cannot_judge_the_task_is_refused(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings("dev")


def test_the_gate_defaults_to_accuracy_against_min_accuracy():
    assert load_settings("dev").gate == ("accuracy", 0.9)
    assert load_settings("dev", gate_metric="log_loss", gate_threshold=0.4).gate == ("log_loss", 0.4)


@pytest.mark.parametrize("name", ["TARGET_ALIAS", "DEFAULT_ALIAS"])
def test_an_alias_outside_a_and_b_is_refused_naming_the_allowed_values(monkeypatch, name):
    monkeypatch.setenv(name, "C")
    with pytest.raises(SettingsError, match=f"{name}='C': Input should be 'A' or 'B'"):
        load_settings("dev")


def test_aliases_are_one_closed_type_that_reads_as_plain_strings():
    assert ALIASES == (Alias.A, Alias.B)
    settings = load_settings("dev", target_alias="A")
    assert settings.target_alias is Alias.A and f"{settings.target_alias}" == "A"


@pytest.fixture
def no_secrets(monkeypatch):
    for name in [*all_secret_names(), "MLOPS_SECRETS_DIR"]:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("component", "missing"),
    [
        ("dagster", "DAGSTER_PG_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"),
        ("serving", "RELOAD_SECRET_TOKEN, PREDICT_TOKEN"),
    ],
)
def test_prod_refuses_to_start_a_component_without_its_secrets_naming_them(no_secrets, component, missing):
    with pytest.raises(SettingsError, match=f"refuses to start {component}: missing secret\\(s\\) {missing} "):
        load_settings("prod").require_secrets(component)


def test_secrets_are_marked_on_their_fields_and_masked_in_repr():
    assert all_secret_names() >= {
        "RELOAD_SECRET_TOKEN",
        "RELOAD_SECRET_TOKEN_PREVIOUS",
        "TRITON_ADMIN_KEY",
        "DAGSTER_PG_URL",
        "MLFLOW_BACKEND_STORE_URI",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "SLACK_WEBHOOK_URL",  # the alerts layer's own settings
    }
    shown = repr(load_settings("dev", reload_secret_token="s3cr3t-value-0123456789"))
    assert "s3cr3t-value" not in shown and "reload_secret_token='**********'" in shown


def test_secrets_come_from_the_environment_or_mounted_files(no_secrets, monkeypatch, tmp_path):
    (tmp_path / "DAGSTER_PG_URL").write_text("postgresql+psycopg2://dagster:pw@db/dagster\n")
    (tmp_path / "AWS_SECRET_ACCESS_KEY").write_text("from-a-file")
    monkeypatch.setenv("MLOPS_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")

    settings = load_settings("prod")

    assert settings.dagster_pg_url == "postgresql+psycopg2://dagster:pw@db/dagster"
    assert (settings.aws_access_key_id, settings.aws_secret_access_key) == ("from-the-environment", "from-a-file")
    settings.require_secrets("dagster")  # complete: no refusal


def test_no_committed_env_file_holds_a_storage_secret_or_a_prod_token():
    for path in (REPO_ROOT / "envs").glob("*/platform.env"):
        keys = {
            line.split("=", 1)[0] for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
        }
        allowed = {"RELOAD_SECRET_TOKEN", "SLACK_WEBHOOK_URL"} if path.parent.name == "dev" else set()
        assert keys & all_secret_names() <= allowed, path


def test_s3_storage_needs_a_bucket(monkeypatch):
    monkeypatch.setenv("S3_BUCKET", "")
    with pytest.raises(SettingsError, match="STORAGE=postgres-s3 needs S3_BUCKET"):
        load_settings("prod")


def test_an_env_dir_mounted_elsewhere_is_read_as_a_pod_mounts_it(tmp_path, monkeypatch):
    """In the cluster the env's ConfigMaps are mounted at MLOPS_ENV_DIR: platform.env and, while the
    optional set is attached, layers.yaml."""
    mounted = tmp_path / "env"
    mounted.mkdir()
    (mounted / "platform.env").write_text("MODEL_NAME=mounted-model\n")
    monkeypatch.setenv("MLOPS_ENV_DIR", str(mounted))

    settings = load_settings("prod")

    assert settings.model_name == "mounted-model" and settings.mlops_env == "prod"
    assert settings.env_dir == mounted


def test_a_missing_mounted_env_dir_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ENV_DIR", str(tmp_path / "nothing"))
    with pytest.raises(SettingsError, match="MLOPS_ENV_DIR has no .*nothing/platform.env"):
        load_settings("prod")


class _ExampleLayerSettings(LayerSettings):
    example_url: str = Field("", pattern=r"^$|^https?://")
    example_retries: int = 3


def test_a_layer_reads_its_own_settings_from_the_env_file_and_the_environment(tmp_path, monkeypatch):
    (tmp_path / "platform.env").write_text("EXAMPLE_URL=http://from-the-file\nEXAMPLE_RETRIES=5\n")
    settings = load_settings("example", mlops_env_dir=tmp_path)

    assert "example_url" not in Settings.model_fields  # the core knows no layer's settings
    assert _ExampleLayerSettings.of(settings).example_url == "http://from-the-file"
    monkeypatch.setenv("EXAMPLE_URL", "http://from-the-environment")
    assert _ExampleLayerSettings.of(settings).example_url == "http://from-the-environment"
    assert _ExampleLayerSettings.of(settings).example_retries == 5
    monkeypatch.setenv("EXAMPLE_URL", "ftp://nope")
    with pytest.raises(
        SettingsError, match=r"invalid _ExampleLayerSettings of env 'example'.*EXAMPLE_URL='ftp://nope'"
    ):
        _ExampleLayerSettings.of(settings)


def test_the_core_settings_hold_no_layer_field():
    layer_fields = {"pushgateway_url", "prometheus_url", "rollback_window", "loki_url", "feast_online_store"}
    assert not layer_fields & set(Settings.model_fields)
    assert "slack_webhook_url" not in Settings.model_fields
