"""Predictions and their fed-back outcomes, joined by request id, in one SQL database (SQLite under
the env's state dir, or Postgres): every replica writes its predictions there, so feedback may reach
any replica."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from mlops_base.echo import quoted
from optional_layers.evaluation.judgement import Task

METADATA = MetaData()
# keyed by the id the server issued (`x-prediction-id`); the caller's x-request-id is kept for
# correlation only. (Tables of their own: the ones before were keyed by the caller's request id.)
PREDICTIONS = Table(
    "evaluation_answers",
    METADATA,
    Column("prediction_id", String(64), primary_key=True),
    Column("request_id", String(128)),
    Column("answered_at", Float, nullable=False, index=True),
    Column("model_name", String(256), nullable=False),
    Column("alias", String(8), nullable=False),
    Column("version", String(32), nullable=False),
    Column("bucket", Integer),  # the routing bucket; empty: the caller named the variant or version
    Column("predictions", Text, nullable=False),  # JSON list, one per row
)
OUTCOMES = Table(
    "evaluation_labels",
    METADATA,
    Column("prediction_id", String(64), primary_key=True),
    Column("label", Text, nullable=False),  # JSON list, one per row
    Column("received_at", Float, nullable=False, index=True),
    Column("source", String(64), nullable=False),  # the name of the credential that sent it
)


class FeedbackError(ValueError):
    """Feedback refused as a whole (nothing stored): the HTTP status and why, naming the item."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Outcome:
    """One scored row: which variant and version answered, what it predicted, what was true, when,
    who said so, and whether the routing chose the variant (only such rows are a fair comparison)."""

    alias: str
    version: str
    prediction: Any
    label: Any
    received_at: float
    source: str = "feedback"
    routed: bool = True


def engine_for(url: str, state_dir: Path):
    if not url:
        path = state_dir / "evaluation" / "outcomes.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # private from its first byte (SQLite's
        url = f"sqlite:///{path}"  # journal files take the database file's mode)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _shared_file(connection, _record):  # several replicas' processes write the one file
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # WAL's usual: no fsync per commit
            connection.execute("PRAGMA busy_timeout=10000")

    METADATA.create_all(engine)
    return engine


PREDICTION_COLUMNS = (
    "prediction_id",
    "request_id",
    "answered_at",
    "model_name",
    "alias",
    "version",
    "bucket",
    "predictions",
)


def _insert(engine) -> str:
    """The driver's own INSERT of PREDICTION_COLUMNS. Raw SQL: SQLAlchemy's per-row parameter
    processing cost 3x the rest of the prediction log's work (profiled)."""
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO {PREDICTIONS.name} ({', '.join(PREDICTION_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(PREDICTION_COLUMNS))})"
    )


class OutcomeStore:
    def __init__(self, engine, task: Task, ttl_seconds: float, retention_seconds: float = math.inf):
        self.engine, self.task, self.ttl_seconds, self.retention_seconds = engine, task, ttl_seconds, retention_seconds
        self._insert = _insert(engine)

    def add_predictions(self, rows: Sequence[tuple]) -> None:
        """Rows of PREDICTION_COLUMNS (one per answered request), in one transaction."""
        if rows:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(self._insert, list(rows))

    def add_feedback(self, items: Sequence[tuple[str, Any]], source: str, now: float | None = None) -> int:
        """Store (prediction id, label) pairs from `source`, all or none; the number of scored rows they add."""
        now = time.time() if now is None else now
        ids: set[str] = set()
        for index, (prediction_id, _) in enumerate(items):
            if prediction_id in ids:
                raise FeedbackError(
                    409, f"[{index}].prediction_id: {quoted(prediction_id)} is given twice in this body"
                )
            ids.add(prediction_id)
        with self.engine.begin() as connection:
            found = {
                row.prediction_id: row
                for row in connection.execute(
                    select(PREDICTIONS.c.prediction_id, PREDICTIONS.c.answered_at, PREDICTIONS.c.predictions).where(
                        PREDICTIONS.c.prediction_id.in_(ids)
                    )
                )
            }
            known = set(
                connection.scalars(select(OUTCOMES.c.prediction_id).where(OUTCOMES.c.prediction_id.in_(ids))).all()
            )
            labels = []
            for index, (prediction_id, label) in enumerate(items):
                row = found.get(prediction_id)
                if row is None:
                    raise FeedbackError(
                        404,
                        f"[{index}].prediction_id: {quoted(prediction_id)} is unknown (this server issued no such "
                        "x-prediction-id, or it is past the retention)",
                    )
                if row.answered_at < now - self.ttl_seconds:
                    raise FeedbackError(
                        410,
                        f"[{index}].prediction_id: {quoted(prediction_id)} has expired: its prediction is older than "
                        f"FEEDBACK_TTL_HOURS={self.ttl_seconds / 3600:g}",
                    )
                if prediction_id in known:
                    raise FeedbackError(409, f"[{index}].prediction_id: {quoted(prediction_id)} already has an outcome")
                labels.append(check_labels(self.task, orjson.loads(row.predictions), label, f"[{index}].label"))
            try:
                connection.execute(
                    insert(OUTCOMES),
                    [
                        {
                            "prediction_id": prediction_id,
                            "label": orjson.dumps(rows).decode(),
                            "received_at": now,
                            "source": source,
                        }
                        for (prediction_id, _), rows in zip(items, labels, strict=True)
                    ],
                )
            except IntegrityError as exc:  # another replica stored one of them meanwhile
                raise FeedbackError(
                    409, "one of these prediction ids got an outcome meanwhile; send the rest again"
                ) from exc
        return sum(len(rows) for rows in labels)

    def outcomes(self, model_name: str, since: float = 0.0) -> list[Outcome]:
        """Every scored row of `model_name`'s predictions received after `since`, oldest first."""
        query = (
            select(
                PREDICTIONS.c.alias,
                PREDICTIONS.c.version,
                PREDICTIONS.c.bucket,
                PREDICTIONS.c.predictions,
                OUTCOMES.c.label,
                OUTCOMES.c.received_at,
                OUTCOMES.c.source,
            )
            .join(OUTCOMES, OUTCOMES.c.prediction_id == PREDICTIONS.c.prediction_id)
            .where(PREDICTIONS.c.model_name == model_name, OUTCOMES.c.received_at > since)
            .order_by(OUTCOMES.c.received_at)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            Outcome(row.alias, row.version, prediction, label, row.received_at, row.source, row.bucket is not None)
            for row in rows
            for prediction, label in zip(orjson.loads(row.predictions), orjson.loads(row.label), strict=True)
        ]

    def prune(self, now: float | None = None) -> None:
        """Forget predictions past the feedback window that never got an outcome, and every
        prediction and outcome past the retention."""
        now = time.time() if now is None else now
        cutoff, kept_since = now - self.ttl_seconds, now - self.retention_seconds
        with self.engine.begin() as connection:
            connection.execute(
                PREDICTIONS.delete().where(
                    PREDICTIONS.c.answered_at < cutoff,
                    PREDICTIONS.c.prediction_id.not_in(select(OUTCOMES.c.prediction_id)),
                )
            )
            if math.isfinite(kept_since):
                expired = select(PREDICTIONS.c.prediction_id).where(PREDICTIONS.c.answered_at < kept_since)
                connection.execute(OUTCOMES.delete().where(OUTCOMES.c.prediction_id.in_(expired)))
                connection.execute(PREDICTIONS.delete().where(PREDICTIONS.c.answered_at < kept_since))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def check_labels(task: Task, predictions: list, label: Any, where: str) -> list:
    """The label(s) of one request, one per predicted row, of the type its predictions have."""
    labels = label if isinstance(label, list) else [label]
    if len(labels) != len(predictions):
        raise FeedbackError(
            422,
            f"{where}: the request had {len(predictions)} rows; give "
            + ("one label" if len(predictions) == 1 else f"a list of {len(predictions)} labels"),
        )
    expected = _expected_kinds(task, predictions)
    for index, value in enumerate(labels):
        kind = _kind(value)
        if kind not in expected or (isinstance(value, float) and not math.isfinite(value)):
            at = where if len(labels) == 1 and not isinstance(label, list) else f"{where}.{index}"
            wanted = "a number" if task == "regression" else f"a class like the model's ({_describe(predictions[0])})"
            shown = (
                repr(value) if len(repr(value)) <= 200 else f"{repr(value)[:200]}... ({len(repr(value))} characters)"
            )
            raise FeedbackError(422, f"{at}: {shown} is not {wanted}")
    return labels


def _expected_kinds(task: Task, predictions: Iterable) -> set[str]:
    if task == "regression":
        return {"integer", "number"}
    kinds = {_kind(p) for p in predictions}
    return {"integer"} if kinds <= {"integer"} else kinds


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"
