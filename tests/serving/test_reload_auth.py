"""The reload endpoint's token: required, constant-time compared, never logged; prod refuses weak
ones; a rotation accepts the previous token too; wrong tokens lock a client out (429)."""

from __future__ import annotations

import httpx
import pytest

from mlops_base.settings import SettingsError, load_settings
from mlops_platform import processes
from serving.main import create_app
from serving.reload_guard import ReloadGuard
from tests.fakes import fake_server, fake_settings
from tests.support import TOKEN, start_server


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
        ({"Authorization": "Bearer wrong"}, 403),
        ({"x-token": "wrong"}, 403),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403),
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
        create_app(load_settings(env, reload_secret_token=token))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_any_env_refuses_an_empty_token_naming_it(env):
    with pytest.raises(SettingsError, match=r"refuses to start serving: missing secret\(s\) RELOAD_SECRET_TOKEN "):
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
        for token, status in ((TOKEN, 200), ("new-token-0123456789", 200), ("other-token", 403)):
            assert rotating.post("/variant/A/reload", headers={"x-token": token}).status_code == status


def test_wrong_tokens_lock_the_client_out_with_retry_after():
    with fake_server(reload_max_failures=3, reload_lockout_s=60) as (guarded, _):
        for _ in range(3):
            assert guarded.post("/variant/A/reload", headers={"x-token": "guess"}).status_code == 403
        locked = guarded.post("/variant/A/reload", headers={"x-token": TOKEN})  # even the right one waits
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert locked.json()["detail"].startswith("too many wrong reload tokens")
        assert guarded.post("/variant/A/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).status_code == 200


def test_the_lockout_ends_after_its_window_and_is_per_client():
    now = [0.0]
    guard = ReloadGuard(
        fake_settings(reload_max_failures=2, reload_lockout_s=30),
        clock=lambda: now[0],
    )
    assert not guard.accepts("10.0.0.1", "a") and not guard.accepts("10.0.0.1", "b")
    assert guard.retry_after("10.0.0.1") == 30 and guard.retry_after("10.0.0.2") is None
    now[0] = 29.5
    assert guard.retry_after("10.0.0.1") == 1
    now[0] = 30.0
    assert guard.retry_after("10.0.0.1") is None and guard.accepts("10.0.0.1", TOKEN)
