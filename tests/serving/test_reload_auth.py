"""The reload endpoint's token: required, constant-time compared, never logged; prod refuses weak ones."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from mlops_base.settings import SettingsError, load_settings
from mlops_platform import processes
from serving.main import create_app
from tests.support import TOKEN, serving_settings, start_server


@pytest.fixture(scope="module")
def client(mlflow_server, shared_model):
    with TestClient(create_app(serving_settings(mlflow_server, shared_model))) as test_client:
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
