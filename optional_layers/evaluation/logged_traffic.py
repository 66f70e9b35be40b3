"""What a Dagster run reads of the traffic the model servers logged, from the outcome store they
write: the labelled rows a drift retrain learns from, and the last rows a replay pre-flight scores.
(The servers' side, writing, is `optional_layers.evaluation.store`.)"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from optional_layers.evaluation.store import ANSWER_BATCHES, OUTCOMES


def labelled_inputs(engine, model_name: str, since: float) -> list[tuple[dict[str, Any], Any]]:
    """Every scored row of `model_name` answered after `since` whose inputs the log kept, with
    its fed-back outcome: (input record, label), oldest first."""
    query = (
        select(OUTCOMES.c.inputs, OUTCOMES.c.label)
        .where(OUTCOMES.c.model_name == model_name, OUTCOMES.c.answered_at > since, OUTCOMES.c.inputs.is_not(None))
        .order_by(OUTCOMES.c.answered_at)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        (record, label)
        for row in rows
        for record, label in zip(orjson.loads(row.inputs), orjson.loads(row.label), strict=True)
    ]


def logged_rows(engine, model_name: str, since: float, limit: int) -> list[tuple[dict[str, Any], Any]]:
    """The last `limit` rows `model_name` answered after `since` whose inputs the log kept, newest
    first, each with its fed-back outcome or None: (input record, label). What a replay scores."""
    query = (
        select(ANSWER_BATCHES.c.answers)
        .where(ANSWER_BATCHES.c.last_answered_at > since)
        .order_by(ANSWER_BATCHES.c.last_answered_at.desc())
    )
    found: list[tuple[dict[str, Any], str, int]] = []  # record, prediction id, its row
    with engine.connect() as connection:
        for answers in connection.scalars(query):
            for line in reversed(answers.splitlines()):
                columns = orjson.loads(line)
                kept = columns.get("inputs") or []
                for i in reversed(range(len(kept))):
                    if kept[i] is None or columns["model_name"][i] != model_name or columns["time"][i] <= since:
                        continue
                    found += [(record, columns["prediction_id"][i], row) for row, record in enumerate(kept[i])]
                if len(found) >= limit:
                    break
            if len(found) >= limit:
                break
        found = found[:limit]
        ids = {prediction_id for _, prediction_id, _ in found}
        labels = {
            row.prediction_id: orjson.loads(row.label)
            for row in connection.execute(
                select(OUTCOMES.c.prediction_id, OUTCOMES.c.label).where(OUTCOMES.c.prediction_id.in_(ids))
            )
        }
    return [(record, labels[pid][row] if pid in labels else None) for record, pid, row in found]
