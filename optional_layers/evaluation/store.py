"""Predictions and their fed-back outcomes, joined by the server-issued prediction id, in one SQL
database (SQLite under the env's state dir, or Postgres): every replica writes its predictions
there, so feedback may reach any replica."""

from __future__ import annotations

import bisect
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from layer_api import AnsweredPrediction
from mlops_base.echo import quoted
from optional_layers.evaluation.answer_batch import ID_PREFIX, AnswerBatch, answer_batch, by_prefix, merged
from optional_layers.evaluation.judgement import Task
from optional_layers.evaluation.labels import FeedbackError, check_labels

METADATA = MetaData()
# Answered predictions, a row per written batch of the prediction log (one INSERT however many
# predictions: a row each cost ~6 us a prediction, most of the layer's price, profiled), as JSON
# columns. Found by the server-issued id (`x-prediction-id`): the batch rows of its ID_PREFIX, then
# the one whose id range holds it.
ANSWER_BATCHES = Table(
    "evaluation_answer_batches",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("id_prefix", String(ID_PREFIX), nullable=False, index=True),
    Column("first_id", String(64), nullable=False),
    Column("last_id", String(64), nullable=False),
    Column("last_answered_at", Float, nullable=False, index=True),
    Column("answers", LargeBinary, nullable=False),  # JSON lines, each {column: [value per prediction]}
)
# An outcome keeps a copy of the prediction it scores: the batch it came from is pruned after the
# feedback window, the outcome stays evidence until the retention.
OUTCOMES = Table(
    "evaluation_outcomes",
    METADATA,
    Column("prediction_id", String(64), primary_key=True),
    Column("answered_at", Float, nullable=False, index=True),
    Column("model_name", String(256), nullable=False),
    Column("alias", String(8), nullable=False),
    Column("version", String(32), nullable=False),
    Column("bucket", Integer),  # the routing bucket; empty: the caller named the variant or version
    Column("predictions", Text, nullable=False),  # JSON list, one per row
    Column("label", Text, nullable=False),  # JSON list, one per row
    Column("inputs", Text),  # JSON list of the rows' input records, when the log kept them
    Column("received_at", Float, nullable=False, index=True),
    Column("source", String(64), nullable=False),  # the name of the credential that sent it
)


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


def read_outcomes(engine, model_name: str, since: float, by: Literal["received_at", "answered_at"]) -> list[Outcome]:
    """Every scored row of `model_name`'s predictions whose outcome was received (or which were
    answered) after `since`, in that order."""
    after = OUTCOMES.c[by]
    query = (
        select(
            OUTCOMES.c.alias,
            OUTCOMES.c.version,
            OUTCOMES.c.bucket,
            OUTCOMES.c.predictions,
            OUTCOMES.c.label,
            OUTCOMES.c.received_at,
            OUTCOMES.c.source,
        )
        .where(OUTCOMES.c.model_name == model_name, after > since)
        .order_by(after)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        Outcome(row.alias, row.version, prediction, label, row.received_at, row.source, row.bucket is not None)
        for row in rows
        for prediction, label in zip(orjson.loads(row.predictions), orjson.loads(row.label), strict=True)
    ]


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
    with engine.begin() as connection:  # a store made before outcomes kept their inputs
        if "inputs" not in {column["name"] for column in inspect(connection).get_columns(OUTCOMES.name)}:
            connection.execute(text(f"ALTER TABLE {OUTCOMES.name} ADD COLUMN inputs TEXT"))
    return engine


@dataclass(frozen=True)
class Answer:
    """One answered prediction as the store keeps it until its outcome arrives."""

    answered_at: float
    model_name: str
    alias: str
    version: str
    bucket: int | None
    predictions: list
    inputs: list | None = None  # the rows' input records, when the log kept them


def _outcome_row(prediction_id: str, answer: Answer, labels: list, now: float, source: str) -> dict[str, Any]:
    return {
        "prediction_id": prediction_id,
        "answered_at": answer.answered_at,
        "model_name": answer.model_name,
        "alias": answer.alias,
        "version": answer.version,
        "bucket": answer.bucket,
        "predictions": orjson.dumps(answer.predictions).decode(),
        "label": orjson.dumps(labels).decode(),
        "inputs": None if answer.inputs is None else orjson.dumps(answer.inputs).decode(),
        "received_at": now,
        "source": source,
    }


class OutcomeStore:
    def __init__(self, engine, task: Task, ttl_seconds: float, retention_seconds: float = math.inf):
        self.engine, self.task, self.ttl_seconds, self.retention_seconds = engine, task, ttl_seconds, retention_seconds

    def add_batches(self, batches: Sequence[AnswerBatch]) -> None:
        """Batches of answered predictions (`answer_batch`), in one transaction: a row per ID_PREFIX."""
        if batches:
            with self.engine.begin() as connection:
                connection.execute(insert(ANSWER_BATCHES), [batch._asdict() for batch in merged(batches)])

    def add_predictions(self, batch: Sequence[AnsweredPrediction]) -> None:
        self.add_batches([answer_batch(columns) for columns in by_prefix(batch)])

    def _answers(self, connection, ids: set[str]) -> dict[str, Answer]:
        """The answers among `ids` still in the store: the batch rows of their prefixes whose id
        range holds one of them, each read once."""
        wanted = sorted(ids)
        prefixes = {prediction_id[:ID_PREFIX] for prediction_id in wanted}
        spans = connection.execute(
            select(ANSWER_BATCHES.c.id, ANSWER_BATCHES.c.first_id, ANSWER_BATCHES.c.last_id).where(
                ANSWER_BATCHES.c.id_prefix.in_(prefixes)
            )
        ).all()
        holding = [
            span.id
            for span in spans
            if (at := bisect.bisect_left(wanted, span.first_id)) < len(wanted) and wanted[at] <= span.last_id
        ]
        found: dict[str, Answer] = {}
        rows = connection.scalars(select(ANSWER_BATCHES.c.answers).where(ANSWER_BATCHES.c.id.in_(holding)))
        for columns in (orjson.loads(line) for row in rows for line in row.split(b"\n")):
            inputs = columns.get("inputs") or [None] * len(columns["prediction_id"])
            for index, prediction_id in enumerate(columns["prediction_id"]):
                if prediction_id in ids:
                    found[prediction_id] = Answer(
                        columns["time"][index],
                        columns["model_name"][index],
                        columns["alias"][index],
                        columns["version"][index],
                        columns["bucket"][index],
                        columns["predictions"][index],
                        inputs[index],
                    )
        return found

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
            found = self._answers(connection, ids)
            known = set(
                connection.scalars(select(OUTCOMES.c.prediction_id).where(OUTCOMES.c.prediction_id.in_(ids))).all()
            )
            labels = []
            for index, (prediction_id, label) in enumerate(items):
                answer = found.get(prediction_id)
                if answer is None:
                    raise FeedbackError(
                        404,
                        f"[{index}].prediction_id: {quoted(prediction_id)} is unknown (this server issued no such "
                        "x-prediction-id, or it is past the feedback window)",
                    )
                if answer.answered_at < now - self.ttl_seconds:
                    raise FeedbackError(
                        410,
                        f"[{index}].prediction_id: {quoted(prediction_id)} has expired: its prediction is older than "
                        f"FEEDBACK_TTL_HOURS={self.ttl_seconds / 3600:g}",
                    )
                if prediction_id in known:
                    raise FeedbackError(409, f"[{index}].prediction_id: {quoted(prediction_id)} already has an outcome")
                labels.append(check_labels(self.task, answer.predictions, label, f"[{index}].label"))
            try:
                connection.execute(
                    insert(OUTCOMES),
                    [
                        _outcome_row(prediction_id, found[prediction_id], rows, now, source)
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
        return read_outcomes(self.engine, model_name, since, "received_at")

    def prune(self, now: float | None = None) -> None:
        """Forget predictions past the feedback window (an outcome keeps its own copy), and every
        outcome past the retention."""
        now = time.time() if now is None else now
        with self.engine.begin() as connection:
            connection.execute(
                ANSWER_BATCHES.delete().where(
                    ANSWER_BATCHES.c.last_answered_at < now - min(self.ttl_seconds, self.retention_seconds)
                )
            )
            if math.isfinite(self.retention_seconds):
                connection.execute(OUTCOMES.delete().where(OUTCOMES.c.answered_at < now - self.retention_seconds))
