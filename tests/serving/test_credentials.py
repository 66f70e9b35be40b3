"""Credentials per scope (reload, feedback, predict): required, constant-time compared, never
logged; none or an invalid one is 401, another scope's is 403; weak ones are refused at start; a
rotation accepts the previous one too; wrong ones lock a client out (429)."""

from __future__ import annotations

import httpx
import pytest

from mlops_base.settings import SettingsError, load_settings
from mlops_platform import processes
from serving.credentials import Credentials
from serving.main import create_app
from tests.fakes import fake_server, fake_settings
from tests.support import FEEDBACK, TOKEN, feedback_auth, start_server

PREDICT = "test-predict-token-0123456789"


@pytest.fixture(scope="module")
def client():
    # a lockout this module's many wrong tokens never reach (the lockout has tests of its own)
    with fake_server(reload_max_failures=1000) as (test_client, _):
        yield test_client


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"x-token": "wrong"}, 401),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401),
        (feedback_auth(), 403),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"x-token": TOKEN}, 200),
    ],
)
def test_reload_token_cases(client, headers, status):
    response = client.post("/variant/A/reload", headers=headers)
    assert response.status_code == status, response.text
    assert TOKEN not in response.text


def test_unknown_alias_reload_is_404_after_auth(client):
    assert client.post("/variant/Z/reload", headers={"x-token": TOKEN}).status_code == 404
    assert client.post("/variant/Z/reload").status_code == 401


@pytest.mark.parametrize("env", ["prod", "prod-local"])
@pytest.mark.parametrize("token", ["dev-reload-token", "changeme"])
def test_envs_but_dev_refuse_to_start_with_a_default_token(env, token):
    with pytest.raises(SettingsError, match=f"env '{env}' refuses a default RELOAD_SECRET_TOKEN"):
        create_app(load_settings(env, reload_secret_token=token, predict_token=PREDICT))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_any_env_refuses_an_empty_token_naming_it(env):
    with pytest.raises(SettingsError, match=r"refuses to start serving: missing secret\(s\) RELOAD_SECRET_TOKEN\b"):
        create_app(load_settings(env, reload_secret_token=""))


def test_token_never_reaches_the_server_log(mlflow_server, shared_model, tmp_path):
    service = start_server(tmp_path, {"MLFLOW_TRACKING_URI": mlflow_server, "MODEL_NAME": shared_model.name})
    try:
        for token in (TOKEN, "wrong-token-value"):
            httpx.post(f"{service.url}/variant/B/reload", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    finally:
        processes.stop(service)
    log = service.log_path.read_text()
    assert "/variant/B/reload" in log
    assert TOKEN not in log and "wrong-token-value" not in log


def test_during_a_rotation_both_tokens_reload_and_nothing_else_does():
    with fake_server(reload_secret_token="new-token-0123456789", reload_secret_token_previous=TOKEN) as (rotating, _):
        for token, status in ((TOKEN, 200), ("new-token-0123456789", 200), ("other-token", 401)):
            assert rotating.post("/variant/A/reload", headers={"x-token": token}).status_code == status


def test_wrong_tokens_lock_the_client_out_with_retry_after():
    with fake_server(reload_max_failures=3, reload_lockout_s=60) as (guarded, _):
        for _ in range(3):
            assert guarded.post("/variant/A/reload", headers={"x-token": "guess"}).status_code == 401
        locked = guarded.post("/variant/A/reload", headers={"x-token": TOKEN})  # even the right one waits
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert locked.json()["detail"].startswith("too many wrong credentials")
        assert guarded.post("/variant/A/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).status_code == 200


def test_the_lockout_ends_after_its_window_and_is_per_client():
    now = [0.0]
    guard = Credentials(
        fake_settings(reload_max_failures=2, reload_lockout_s=30),
        clock=lambda: now[0],
    )
    assert guard.match("10.0.0.1", "a") is None and guard.match("10.0.0.1", "b") is None
    assert guard.retry_after("10.0.0.1") == 30 and guard.retry_after("10.0.0.2") is None
    now[0] = 29.5
    assert guard.retry_after("10.0.0.1") == 1
    now[0] = 30.0
    assert guard.retry_after("10.0.0.1") is None and guard.match("10.0.0.1", TOKEN).scope == "reload"
    assert guard.match("10.0.0.1", FEEDBACK["support"]).name == "support"


ROW = {"data": [[5.1, 3.5, 1.4, 0.2]]}


def test_with_a_predict_token_every_scoring_route_needs_it_and_the_rest_stay_open():
    with fake_server(predict_token=PREDICT) as (client, _):
        scoring = [
            ("/predict", ROW),
            ("/variant/B/predict", ROW),
            ("/invocations", {"inputs": ROW["data"]}),
            (
                "/v2/models/fake-model/infer",
                {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": ROW["data"][0]}]},
            ),
        ]
        for path, body in scoring:
            assert client.post(path, json=body).status_code == 401, path
            assert client.post(path, json=body, headers={"x-token": "guess-" + PREDICT}).status_code == 401, path
            assert client.post(path, json=body, headers=feedback_auth()).status_code == 403, path
            assert client.post(path, json=body, headers={"Authorization": f"Bearer {PREDICT}"}).status_code == 200, path
        for path in ("/health", "/ready", "/ping", "/v2/health/live", "/models"):
            assert client.get(path).status_code == 200, path
        operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
        assert {"401", "403", "429"} <= set(operation["responses"])


def test_prod_refuses_to_serve_without_a_predict_token():
    with pytest.raises(SettingsError, match=r"env 'prod' refuses to start serving: missing secret\(s\) PREDICT_TOKEN"):
        create_app(load_settings("prod", reload_secret_token=TOKEN))


def test_without_a_predict_token_scoring_is_open():
    with fake_server() as (client, _):
        assert client.app.state.credentials.scopes == {"reload", "feedback"}
        assert client.post("/predict", json=ROW).status_code == 200


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [
        ("feedback_token", "tiny-tok", "shorter than 16 characters"),
        ("predict_token", "changeme", "a well-known default value"),
        ("feedback_token", f"labelling:{FEEDBACK['labelling']},crm:password", "a well-known default value"),
    ],
)
def test_weak_credentials_are_refused_at_start_in_any_env(setting, value, why):
    with pytest.raises(SettingsError, match=why) as refused:
        create_app(fake_settings(**{setting: value}))
    assert value.rsplit(":", 1)[-1] not in str(refused.value)
