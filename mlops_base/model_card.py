"""A model card: what exactly a registered version is, read from the registry and its training run
(never typed in): the data it learned from, the code and parameters, the gate's result against the
champion, its metrics per class or bucket, its global importance beside the champion's, and every
release of it with the reason. Anything the registry does not record says unknown.

One builder for every reader: the Dagster asset `model_card` (written to the run's artifacts with
each registration), `GET /models/{version}/card` and `./mlops card VERSION`. `ModelCard`'s JSON
Schema is published (docs/reference/model-card.schema.json)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from mlops_base.aliases import MIRROR_PREFIX
from mlops_base.registry_rest import RegistryClient, RegistryError

CARD_JSON, CARD_MARKDOWN = "model_card.json", "model_card.md"
IMPORTANCE_ARTIFACT = "global_importance.json"  # mlops_base.explain.importance writes it
SPLIT_METRICS_ARTIFACT = "test_split_metrics.json"  # core_assets.lib.training writes it
GATE_TAG, GATE_DETAIL_TAG = "mlops.quality_gate", "mlops.quality_gate.detail"
DATASET_TAG, ROWS_TAG, CODE_VERSION_TAG, DATA_HASH_TAG = (
    "mlops.dataset",
    "mlops.rows",
    "mlops.code_version",
    "mlops.data_hash",
)
SCHEMA_TAG = "mlops.feature_schema"
# the run's known row and the model's answer to it, recorded when trained: the synthetic probe's reference
PROBE_TAG = "mlops.probe"
SHIFT = 0.5  # a column whose share of importance moved by more than half of the champion's is named
UNKNOWN_DRIFT = "unknown (the drift layer is off)"
UNKNOWN_EVALUATION = "unknown (the evaluation layer is off)"
# what the layers know of a version now (`LayerManager.card_facts`): (model, version, aliases) -> facts
CardFacts = Callable[[str, str, dict[str, str]], dict[str, str]]


class Data(BaseModel):
    source: str | None = Field(None, description="DATASET: a built-in name, a file or a URI")
    train_rows: int | None = None
    test_rows: int | None = None
    content_hash: str | None = Field(None, description="the dataset's content hash (features' data_hash)")
    columns: dict[str, str] | None = Field(None, description="input column -> kind (number, category, ...)")


class Training(BaseModel):
    model: str | None = Field(None, description="the estimator or trainer")
    task: str | None = None
    code_version: str | None = Field(None, description="training code, trainer module and parameters, hashed")
    parameters: dict[str, str] = Field(default_factory=dict, description="the run's logged parameters")


class Gate(BaseModel):
    result: Literal["passed", "failed", "unknown"]
    detail: dict[str, Any] | None = Field(None, description="the gate's scores and reasons, as the check recorded them")


class Importance(BaseModel):
    method: str
    output: str
    rows: int
    share: dict[str, float] = Field(description="input column -> its share of the mean |attribution|")


class ImportanceChange(BaseModel):
    champion_version: str
    champion_share: dict[str, float]
    shifted: list[str] = Field(description="columns whose share moved by more than half of the champion's")


class Release(BaseModel):
    moved_at: str
    alias: str
    before_version: str | None
    after_version: str | None
    lever: str
    trigger: str
    reason: str


class ModelCard(BaseModel):
    model_name: str
    version: str
    run_id: str
    registered_at: str | None = None
    aliases: list[str] = Field(description="aliases naming this version now")
    data: Data
    training: Training
    gate: Gate
    metrics: dict[str, float] = Field(description="the run's metrics on the test split")
    per_class: list[dict[str, Any]] | None = Field(None, description="per class (classification) or bucket")
    importance: Importance | None = None
    importance_vs_champion: ImportanceChange | None = None
    releases: list[Release] = Field(description="every recorded move of an alias to or from this version, newest first")
    drift: str = Field(
        UNKNOWN_DRIFT, description="the drift layer's tests of this version's inputs on every replica, now"
    )
    live_evaluation: str = Field(
        UNKNOWN_EVALUATION,
        description="the evaluation layer's fed-back outcomes of this version and its judgement against the champion",
    )


def _json_tag(tags: dict[str, str], key: str) -> Any:
    try:
        return json.loads(tags[key]) if key in tags else None
    except ValueError:
        return None


def _run_json(client: RegistryClient, run_id: str, path: str) -> Any:
    """A JSON artifact of the run, or None when it has none."""
    with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp:
        try:
            return json.loads(client.run_file(run_id, path, Path(tmp) / "artifact.json").read_text())
        except (RegistryError, OSError, ValueError):
            return None


def shifted_columns(mine: dict[str, float], theirs: dict[str, float]) -> list[str]:
    """The columns whose share of importance moved by more than SHIFT of the champion's share."""
    return sorted(c for c in mine if abs(mine[c] - theirs.get(c, 0.0)) > SHIFT * theirs.get(c, 0.0))


def importance_of(client: RegistryClient, model_name: str, version: str) -> dict[str, Any] | None:
    """A version's global importance as its training run logged it, or None (none logged)."""
    return _run_json(client, client.model_version(model_name, version).run_id, IMPORTANCE_ARTIFACT)


def build_card(client: RegistryClient, model_name: str, version: str, facts: CardFacts | None = None) -> ModelCard:
    """The card of `model_name` v`version` as the registry knows it now, with what the layers on
    know of it (`facts`: drift, live evaluation)."""
    found = client.model_version(model_name, version)
    run = client.run(found.run_id)
    model = client.registered_model(model_name)
    rows = _json_tag(run.tags, ROWS_TAG) or {}
    importance = _run_json(client, found.run_id, IMPORTANCE_ARTIFACT)
    change = None
    champion = model.aliases.get("A")
    if importance and champion and champion != version:
        theirs = importance_of(client, model_name, champion)
        if theirs:
            change = ImportanceChange(
                champion_version=champion,
                champion_share=theirs["share"],
                shifted=shifted_columns(importance["share"], theirs["share"]),
            )
    moves = [_json_tag(model.tags, key) for key in model.tags if key.startswith(MIRROR_PREFIX)]
    releases = sorted(
        (
            Release(**{f: m.get(f) for f in Release.model_fields})
            for m in moves
            if m and version in (m.get("before_version"), m.get("after_version"))
        ),
        key=lambda r: r.moved_at,
        reverse=True,
    )
    created = found.creation_timestamp
    return ModelCard(
        model_name=model_name,
        version=version,
        run_id=found.run_id,
        registered_at=datetime.fromtimestamp(created / 1000, UTC).isoformat() if created else None,
        aliases=sorted(alias for alias, v in model.aliases.items() if v == version),
        data=Data(
            source=run.tags.get(DATASET_TAG),
            train_rows=rows.get("train"),
            test_rows=rows.get("test"),
            content_hash=run.tags.get(DATA_HASH_TAG),
            columns=_json_tag(run.tags, SCHEMA_TAG),
        ),
        training=Training(
            model=run.params.get("model"),
            task=run.params.get("task"),
            code_version=run.tags.get(CODE_VERSION_TAG),
            parameters=run.params,
        ),
        gate=Gate(result=run.tags.get(GATE_TAG, "unknown"), detail=_json_tag(run.tags, GATE_DETAIL_TAG)),
        metrics=run.metrics,
        per_class=_run_json(client, found.run_id, SPLIT_METRICS_ARTIFACT),
        importance=Importance(**importance) if importance else None,
        importance_vs_champion=change,
        releases=releases,
        **(facts(model_name, version, dict(model.aliases)) if facts else {}),
    )


def _value(value: Any) -> str:
    if value is None:
        return "unknown"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def card_markdown(card: ModelCard) -> str:
    """The card for people: the same values, Markdown."""
    data, training = card.data, card.training
    lines = [
        f"# {card.model_name} v{card.version}",
        "",
        f"Run `{card.run_id}`, registered {_value(card.registered_at)}; "
        f"aliases now: {', '.join(card.aliases) or 'none'}.",
        "",
        "## Data",
        f"- source: {_value(data.source)}; rows: {_value(data.train_rows)} train, {_value(data.test_rows)} test",
        f"- content hash: {_value(data.content_hash)}",
        f"- columns: {', '.join(f'{c} ({k})' for c, k in (data.columns or {}).items()) or 'unknown'}",
        "",
        "## Training",
        f"- model: {_value(training.model)} ({_value(training.task)}); code version {_value(training.code_version)}",
        f"- parameters: {', '.join(f'{k}={v}' for k, v in sorted(training.parameters.items())) or 'none'}",
        "",
        "## Quality gate",
        f"- {card.gate.result}" + (f": {json.dumps(card.gate.detail, sort_keys=True)}" if card.gate.detail else ""),
        "",
        "## Metrics (test split)",
        *(f"- {name}: {_value(value)}" for name, value in sorted(card.metrics.items())),
    ]
    if card.per_class:
        header = list(card.per_class[0])
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_value(row.get(h)) for h in header) + " |" for row in card.per_class]
    lines += ["", "## Global importance"]
    if card.importance is None:
        lines.append("- unknown")
    else:
        champion = card.importance_vs_champion
        lines += [
            f"{card.importance.method}, {card.importance.rows} test rows, in {card.importance.output} units"
            + (f"; beside the champion v{champion.champion_version}" if champion else ""),
            "",
            "| column | share |" + (" champion |" if champion else ""),
            "|---|---:|" + ("---:|" if champion else ""),
        ]
        for column, share in sorted(card.importance.share.items(), key=lambda item: -item[1]):
            theirs = f" {champion.champion_share.get(column, 0.0):.1%} |" if champion else ""
            lines.append(f"| {column} | {share:.1%} |{theirs}")
        if champion:
            lines += ["", f"Shifted by more than half: {', '.join(champion.shifted) or 'none'}."]
    lines += ["", "## Releases"]
    lines += [
        f"- {r.moved_at}: {r.alias} v{_value(r.before_version)} -> v{_value(r.after_version)} "
        f"({r.lever}, {r.trigger}): {r.reason}"
        for r in card.releases
    ] or ["- none recorded"]
    lines += ["", "## Live state", f"- drift: {card.drift}", f"- live evaluation: {card.live_evaluation}", ""]
    return "\n".join(lines)
