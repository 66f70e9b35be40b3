"""The model card, end to end on a real MLflow server: two versions trained, gated and released by
the real graph, the `model_card` asset materialized, then the card read back three ways (the run's
artifacts, a real model server's `GET /models/{version}/card`, `./mlops card`). Every number on it
is checked against the MLflow run it came from, and its JSON against the published schema. With the
drift and evaluation layers on, the card says what they know of a version now: the server's card
its own drift tests, `./mlops card` every replica's; both the outcomes fed back."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema

from core_assets.definitions import build_definitions
from core_assets.lib.data import builtin_features
from core_assets.model_card import model_card
from mlops_base.model_card import CARD_JSON, CARD_MARKDOWN
from mlops_base.settings import REPO_ROOT
from mlops_platform import processes
from tests.core_assets.runs import release
from tests.support import TOKEN, feedback_auth, start_server, toggle

# the drift layer's line on a card, and the evaluation layer's
TESTED = r"(watching|no traffic): [0-9,]+ rows tested \([0-9,]+ answered\) on 1 replica\(s\), no drift"
JUDGED = r"12 outcomes on A, accuracy [01]\.[0-9]{3}; challenger v2 against it: not yet known"
SCHEMA = json.loads((REPO_ROOT / "docs" / "reference" / "model-card.schema.json").read_text())


def _check_against_the_run(card: dict, client, version: str) -> None:
    """Every value on the card is the registry's or the run's own."""
    found = client.get_model_version(card["model_name"], version)
    run = client.get_run(found.run_id)
    assert card["run_id"] == found.run_id
    assert card["metrics"] == run.data.metrics and card["metrics"]
    assert card["training"]["parameters"] == run.data.params
    assert card["training"]["code_version"] == run.data.tags["mlops.code_version"]
    assert card["data"]["content_hash"] == run.data.tags["mlops.data_hash"]
    rows = json.loads(run.data.tags["mlops.rows"])
    assert (card["data"]["train_rows"], card["data"]["test_rows"]) == (rows["train"], rows["test"]) == (112, 38)
    assert card["data"]["source"] == "iris" and len(card["data"]["columns"]) == 4
    assert card["gate"]["result"] == run.data.tags["mlops.quality_gate"] == "passed"
    assert card["gate"]["detail"]["challenger"] == run.data.metrics[card["gate"]["detail"]["metric"]]
    split = json.loads(Path(client.download_artifacts(found.run_id, "test_split_metrics.json")).read_text())
    assert card["per_class"] == split and [row["class"] for row in split][:3] == ["0", "1", "2"]
    importance = json.loads(Path(client.download_artifacts(found.run_id, "global_importance.json")).read_text())
    assert card["importance"] == {k: importance[k] for k in ("method", "output", "rows", "share")}


def test_a_versions_card_is_the_registrys_record_wherever_it_is_read(settings, client, instance, tmp_path):
    defs = build_definitions(settings)
    release(defs, instance)  # v1 on B
    client.set_registered_model_alias(settings.model_name, "A", "1")  # the champion the card compares with
    release(defs, instance)  # v2 on B
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={model_card.key})
    written = job.execute_in_process(instance=instance)  # as its automation runs it, after a registration
    assert written.success
    [materialization] = written.asset_materializations_for_node("model_card")
    assert materialization.metadata["version"].value == "2"
    assert materialization.metadata["card"].value.startswith(f"# {settings.model_name} v2")

    run_id = client.get_model_version(settings.model_name, "2").run_id
    stored = json.loads(Path(client.download_artifacts(run_id, CARD_JSON, str(tmp_path))).read_text())
    jsonschema.validate(stored, SCHEMA)
    _check_against_the_run(stored, client, "2")
    assert stored["aliases"] == ["B"] and stored["importance_vs_champion"]["champion_version"] == "1"
    assert [(r["alias"], r["before_version"], r["after_version"]) for r in stored["releases"]] == [("B", "1", "2")]
    markdown = Path(client.download_artifacts(run_id, CARD_MARKDOWN, str(tmp_path))).read_text()
    assert "## Releases" in markdown and "B v1 -> v2 (release" in markdown

    envs, state = tmp_path / "envs", tmp_path / "server-state"
    shutil.copytree(REPO_ROOT / "envs", envs)
    for layer in ("drift", "evaluation"):
        toggle(envs / "dev", "on", layer)
    layers_env = {"MLOPS_ENVS_DIR": str(envs), "MLOPS_STATE_DIR": str(state)}
    server_env = {"MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri, "MODEL_NAME": settings.model_name}
    server = start_server(tmp_path / "server", {**server_env, **layers_env})
    try:
        served = httpx.get(f"{server.url}/models/1/card", timeout=30)
        assert served.status_code == 200, served.text
        card = served.json()
        jsonschema.validate(card, SCHEMA)
        _check_against_the_run(card, client, "1")
        # v1 was released to B, then replaced there by v2: both moves are on its card
        assert [(r["before_version"], r["after_version"]) for r in card["releases"]] == [("1", "2"), (None, "1")]
        assert card["aliases"] == ["A"] and card["importance_vs_champion"] is None  # it is the champion
        assert card["live_evaluation"] == "no outcome of v1 fed back (in the store now)"
        text = httpx.get(f"{server.url}/models/2/card", params={"format": "markdown"}, timeout=30)
        assert text.headers["content-type"].startswith("text/markdown")
        assert text.text.split("## Live state")[0] == markdown.split("## Live state")[0]  # the layers' lines differ
        assert httpx.get(f"{server.url}/models/99/card", timeout=30).status_code == 404

        features = builtin_features()
        for row, label in zip(features.x_test.to_numpy()[:12].tolist(), features.y_test[:12], strict=True):
            answer = httpx.post(f"{server.url}/variant/A/predict", json={"data": [row]}, timeout=30)
            outcome = {"prediction_id": answer.headers["x-prediction-id"], "label": int(label)}
            assert httpx.post(f"{server.url}/feedback", json=outcome, headers=feedback_auth()).status_code == 200
        card = httpx.get(f"{server.url}/models/1/card", timeout=30).json()
        print(card["drift"], card["live_evaluation"], sep="\n")  # the guide shows them
        assert re.fullmatch(JUDGED, card["live_evaluation"]), card
        assert re.fullmatch(f"this replica: {TESTED}", card["drift"]), card["drift"]
        # elsewhere (the asset, the CLI) the facts are every replica's, read over HTTP, and the same store's
        everywhere = {**os.environ, **server_env, **layers_env, "SERVING_URL": server.url, "RELOAD_SECRET_TOKEN": TOKEN}
        mlops = str(Path(sys.executable).parent / "mlops")
        printed = subprocess.run(
            [mlops, "card", "1", "--json"], env=everywhere, capture_output=True, text=True, timeout=60
        )
        assert printed.returncode == 0, printed.stderr
        read = json.loads(printed.stdout)
        assert read["live_evaluation"] == card["live_evaluation"]
        assert re.fullmatch(TESTED, read["drift"]), read["drift"]  # more rows may have been tested since
    finally:
        processes.stop(server)

    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "MODEL_NAME": settings.model_name,
        "MLOPS_STATE_DIR": str(tmp_path / "cli"),
    }
    mlops = str(Path(sys.executable).parent / "mlops")
    printed = subprocess.run([mlops, "card", "2"], env=env, capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    print(printed.stdout)  # the guide shows it
    assert printed.stdout.strip() == markdown.strip()
    missing = subprocess.run([mlops, "card", "99"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "has no version 99" in missing.stderr
