"""The replay pre-flight: before a candidate sees any traffic, it and the champion score the last
requests the model server answered (the evaluation layer's prediction log, read in the run, never
sent to the live server).

What a holdout split cannot show, a replay does: a column retyped or renamed since the requests
were made, a feature the serving path computes differently, a model that raises on rows the
training data never had. Per model: rows refused by its signature, rows it raised on, time per
row; between the two: how often they disagree and, on rows whose outcomes came back, the
difference of the metric with a 95% interval (paired: the same rows). It fails on more errors and
refusals than `REPLAY_MAX_ERRORS` (a share of rows), or on a metric difference whose interval lies
on the worse side of zero.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from layer_api.manager import LayerManager
from mlops_base.mlflow_client import first_line
from mlops_base.settings import Settings, Task

if TYPE_CHECKING:  # numpy and pandas are imported where rows are scored: the code location loads without them
    import pandas as pd
    from mlflow import MlflowClient

Z_95 = 1.959964


@dataclass(frozen=True)
class Scored:
    """One model's replay: its prediction per row (None where it failed) and what went wrong."""

    version: str
    predictions: list[Any]
    refused: int  # rows its signature refused (a type or a column it does not take)
    errors: int  # rows it raised on
    seconds_per_row: float
    first_problem: str | None = None

    @property
    def failed(self) -> int:
        return self.refused + self.errors


def _is_refusal(exc: Exception) -> bool:
    """The signature's enforcement (MLflow's schema check), as the model server's 422 would be."""
    return type(exc).__name__ == "MlflowException"


QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _problem(exc: Exception) -> str:
    """What went wrong, without the rows: logged requests must not travel into run logs and
    alerts. MLflow's schema error quotes the whole frame before its reason (kept: the reason), and
    an error may quote a value (`could not convert string to float: 'north'`: each quote emptied)."""
    text = str(exc)
    reason = text.rsplit("Error: ", 1)[-1] if _is_refusal(exc) and "Error: " in text else first_line(exc)
    line = QUOTED.sub("'...'", reason.strip().splitlines()[0] if reason.strip() else "")
    return f"{type(exc).__name__}: {line}"[:300]


def score(version: str, model: Any, rows: pd.DataFrame) -> Scored:
    """All rows at once; when that fails, row by row, to count which fail and why."""
    import numpy as np

    started = time.perf_counter()
    try:
        predictions = list(np.asarray(model.predict(rows)).tolist())
        return Scored(version, predictions, 0, 0, (time.perf_counter() - started) / max(len(rows), 1))
    except Exception:  # some row fails: find which
        pass
    predictions, refused, errors, first = [], 0, 0, None
    started = time.perf_counter()
    for i in range(len(rows)):
        try:
            predictions.append(np.asarray(model.predict(rows.iloc[[i]])).tolist()[0])
        except Exception as exc:  # the model's or its signature's: counted, the replay goes on
            predictions.append(None)
            refused, errors = (refused + 1, errors) if _is_refusal(exc) else (refused, errors + 1)
            first = first or _problem(exc)
    return Scored(version, predictions, refused, errors, (time.perf_counter() - started) / len(rows), first)


@dataclass(frozen=True)
class Replay:
    rows: int
    candidate: Scored
    champion: Scored | None
    labelled: int = 0
    disagreement: float | None = None  # share of rows both answered where they differ
    metric: str | None = None  # accuracy (classification) or mae (regression), on labelled rows
    difference: float | None = None  # candidate minus champion; positive is better for accuracy
    interval: tuple[float, float] | None = None
    passed: bool = True
    reasons: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = ["| | rows failed (refused / raised) | time per row | first problem |", "|---|---|---|---|"]
        for name, s in (("candidate", self.candidate), ("champion", self.champion)):
            if s is not None:
                problem = s.first_problem or ""
                lines.append(
                    f"| {name} v{s.version} | {s.failed} ({s.refused} / {s.errors}) | "
                    f"{s.seconds_per_row * 1e3:.3f} ms | {problem} |"
                )
        return "\n".join(lines)


def _paired(task: Task, labels: list[Any], mine: list[Any], theirs: list[Any]) -> tuple[str, Any]:
    """Per labelled row: the candidate's score minus the champion's (accuracy: right answers;
    MAE: the champion's error minus the candidate's, so positive is better either way)."""
    import numpy as np

    if task == "classification":
        right = lambda predictions: np.array([float(p == y) for p, y in zip(predictions, labels, strict=True)])  # noqa: E731
        return "accuracy", right(mine) - right(theirs)
    truth = np.asarray(labels, dtype=np.float64)
    error = lambda predictions: np.abs(np.asarray(predictions, dtype=np.float64) - truth)  # noqa: E731
    return "mae", error(theirs) - error(mine)


def judge(candidate: Scored, champion: Scored | None, labels: list[Any], task: Task, max_errors: float) -> Replay:
    """The replay's figures and whether the candidate may be released."""
    rows = len(candidate.predictions)
    reasons, passed = [], True
    share = candidate.failed / rows
    if share > max_errors:
        passed = False
        reasons.append(
            f"v{candidate.version} failed on {candidate.failed} of {rows} logged rows ({share:.1%} > "
            f"REPLAY_MAX_ERRORS {max_errors:.1%}; {candidate.refused} refused by its signature, "
            f"{candidate.errors} raised): {candidate.first_problem}"
        )
    else:
        reasons.append(f"v{candidate.version} answered {rows - candidate.failed} of {rows} logged rows")
    if champion is None:
        return Replay(rows, candidate, None, passed=passed, reasons=[*reasons, "no champion to compare with"])
    both = [i for i in range(rows) if candidate.predictions[i] is not None and champion.predictions[i] is not None]
    disagreement = sum(candidate.predictions[i] != champion.predictions[i] for i in both) / len(both) if both else None
    labelled = [
        i for i in both if labels[i] is not None and not (isinstance(labels[i], float) and math.isnan(labels[i]))
    ]
    metric = difference = interval = None
    if len(labelled) >= 2:
        metric, gains = _paired(
            task,
            [labels[i] for i in labelled],
            [candidate.predictions[i] for i in labelled],
            [champion.predictions[i] for i in labelled],
        )
        difference = float(gains.mean())
        half = Z_95 * float(gains.std(ddof=1)) / math.sqrt(len(gains))
        interval = (difference - half, difference + half)
        shown = difference if metric == "accuracy" else -difference  # MAE: the candidate's minus the champion's
        low, high = interval if metric == "accuracy" else (-interval[1], -interval[0])
        verdict = "worse" if interval[1] < 0 else "not worse"
        reasons.append(
            f"{metric} on {len(labelled)} labelled rows: candidate minus champion v{champion.version} "
            f"{shown:+.4f}, 95% interval [{low:+.4f}, {high:+.4f}]: {verdict}"
        )
        passed = passed and interval[1] >= 0
    else:
        reasons.append(f"{len(labelled)} logged rows have outcomes: no metric compared")
    if disagreement is not None:
        reasons.append(f"disagrees with champion v{champion.version} on {disagreement:.1%} of rows")
    return Replay(rows, candidate, champion, len(labelled), disagreement, metric, difference, interval, passed, reasons)


TARGET = "__outcome__"  # the logged rows' outcome column (a name no input column takes)


def _inputs(model) -> list[str] | None:
    schema = model.metadata.get_input_schema()
    return None if schema is None else schema.input_names()


def replay_version(
    client: MlflowClient, settings: Settings, layers: LayerManager, version: str, since: float
) -> tuple[Replay | None, str]:
    """Version `version` and the champion on the logged requests answered since `since`; None and
    why when there is nothing to replay."""
    import mlflow.pyfunc

    from mlops_base.skops_import import skops_io

    name = settings.model_name
    frame = layers.replay_rows(name, since, settings.replay_rows, TARGET)
    if frame is None or frame.empty:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(since))
        return None, (
            f"no logged requests of {name} with their inputs since {when} UTC: nothing to replay "
            "(the evaluation layer keeps them with PREDICTION_LOG_INPUTS=sample or all)"
        )
    labels = frame.pop(TARGET).tolist() if TARGET in frame else [None] * len(frame)
    skops_io()  # before MLflow's loader imports skops
    champion_version = client.get_registered_model(name).aliases.get("A")
    champion_model = None
    if champion_version and champion_version != version:
        champion_model = mlflow.pyfunc.load_model(f"models:/{name}/{champion_version}")
        missing = sorted(set(_inputs(champion_model) or []) - set(frame.columns))
        if missing:  # the log keeps fewer columns than the champion takes: it cannot judge anyone
            return None, f"the log keeps no {', '.join(missing)} (PREDICTION_LOG_COLUMNS): nothing to replay"
    candidate = score(version, mlflow.pyfunc.load_model(f"models:/{name}/{version}"), frame)
    champion = score(champion_version, champion_model, frame) if champion_model is not None else None
    return judge(candidate, champion, labels, settings.task, settings.replay_max_errors), ""
