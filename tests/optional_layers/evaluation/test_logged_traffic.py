"""What a Dagster run reads of the logged traffic (fast tier: the real app on fake models writes a
real SQLite store): the rows a replay scores, newest first, each with its outcome where one came."""

from __future__ import annotations

import time

from optional_layers.evaluation.logged_traffic import logged_rows
from optional_layers.evaluation.store import engine_for
from tests.fakes import FEATURES, fake_server
from tests.support import feedback_auth


def _predict(client, rows) -> str:
    response = client.post("/predict", json={"data": [list(r) for r in rows]})
    assert response.status_code == 200, response.text
    return response.headers["x-prediction-id"]


def test_the_logged_rows_a_replay_scores_come_newest_first_with_their_outcomes(tmp_path, monkeypatch):
    monkeypatch.setenv("PREDICTION_LOG_INPUTS", "all")
    with fake_server(layers={"evaluation"}, mlops_state_dir=tmp_path) as (client, _):
        ids = [_predict(client, rows=([float(i), 1.0, 1.0, 1.0], [float(i), 2.0, 2.0, 2.0])) for i in range(5)]
        fed = client.post("/feedback", json={"prediction_id": ids[3], "label": [7, 8]}, headers=feedback_auth())
        assert fed.status_code == 200, fed.text
    engine = engine_for("", tmp_path)
    rows = logged_rows(engine, "fake-model", since=0.0, limit=4)
    assert [record[FEATURES[0]] for record, _ in rows] == [4.0, 4.0, 3.0, 3.0]  # newest first, a row each
    assert [label for _, label in rows] == [None, None, 7, 8]  # request 3's rows in order, with their labels
    assert logged_rows(engine, "another-model", since=0.0, limit=4) == []
    assert logged_rows(engine, "fake-model", since=time.time() + 1, limit=4) == []
