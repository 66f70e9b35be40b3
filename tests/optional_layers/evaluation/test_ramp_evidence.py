"""The ramp's outcome guardrail, read by the evaluation layer's hook from a real SQLite outcome store
(fast tier): outcomes of what each alias answered during the step, routed traffic only, and no
verdict that one source (feedback credential) makes alone."""

from __future__ import annotations

import numpy as np

from core_assets.release.ramp import Evidence, read
from layer_api import AnsweredPrediction
from mlops_base.settings import load_settings
from optional_layers.evaluation.plugin import EvaluationLayer
from optional_layers.evaluation.store import OutcomeStore, engine_for

STEP_BEGAN = 1_000.0
ALPHA = 0.05 / 12  # as the ramp reads a guardrail: alpha / (3 guardrails x 4 steps)


def _answer(i: int, alias: str, version: str, at: float, bucket: int | None = 7) -> AnsweredPrediction:
    return AnsweredPrediction(
        f"{i:014x}{'ab' * 16}", None, at, alias, "m", version, bucket, [[1.0]], ["x"], np.array([1])
    )


def _store(tmp_path) -> OutcomeStore:
    return OutcomeStore(engine_for("", tmp_path), "classification", ttl_seconds=86_400)


def _label(store: OutcomeStore, answers: list[AnsweredPrediction], wrong_share: float, source: str) -> None:
    """Outcomes for `answers`: the first `wrong_share` of them say the answer (class 1) was wrong."""
    wrong = round(wrong_share * len(answers))
    store.add_feedback([(a.prediction_id, 0 if i < wrong else 1) for i, a in enumerate(answers)], source, now=2_000.0)


def _traffic(store: OutcomeStore, n: int) -> tuple[list, list]:
    """`n` routed answers of A (v1) and of B (v2) during the step; before it, more that must not count."""
    early = [_answer(i, "B", "2", STEP_BEGAN - 10) for i in range(n)]
    a = [_answer(n + i, "A", "1", STEP_BEGAN + 1 + i) for i in range(n)]
    b = [_answer(2 * n + i, "B", "2", STEP_BEGAN + 1 + i) for i in range(n)]
    named = [_answer(3 * n + i, "B", "2", STEP_BEGAN + 1, bucket=None) for i in range(n)]  # the caller chose B
    store.add_predictions(early + a + b + named)
    _label(store, early, 1.0, "ops")
    _label(store, named, 1.0, "ops")
    return a, b


def _guardrail(tmp_path) -> list:
    settings = load_settings("dev").model_copy(update={"mlops_state_dir": tmp_path, "task": "classification"})
    return EvaluationLayer(settings).mlops_ramp_evidence("m", "1", "2", STEP_BEGAN)


def test_a_challenger_wrong_more_often_during_the_step_reads_worse_on_two_sources(tmp_path):
    store = _store(tmp_path)
    a, b = _traffic(store, 400)
    for source, part in (("ops", slice(0, 200)), ("labelling", slice(200, 400))):
        _label(store, a[part], 0.05, source)
        _label(store, b[part], 0.30, source)
    [observed] = _guardrail(tmp_path)
    assert observed.guardrail == "outcome" and observed.bounded and observed.higher_is_worse
    # the step's routed answers only: the earlier ones and those a caller sent to B are left out
    assert (observed.champion.n, observed.challenger.n) == (400, 400)
    assert (observed.champion.mean, observed.challenger.mean) == (0.05, 0.30)
    assert len(observed.without_each_source) == 2
    reading = read(Evidence(observed, 0.005), ALPHA)
    assert reading.verdict == "worse" and not reading.one_source, reading.describe()


def test_one_source_alone_cannot_make_the_challenger_read_worse(tmp_path):
    """A second credential labels B's answers wrong: the verdict does not hold without it."""
    store = _store(tmp_path)
    a, b = _traffic(store, 400)
    _label(store, a[:200], 0.02, "ops")
    _label(store, b[:200], 0.02, "ops")
    _label(store, a[200:], 0.02, "forger")
    _label(store, b[200:], 1.0, "forger")
    [observed] = _guardrail(tmp_path)
    reading = read(Evidence(observed, 0.005), ALPHA)
    assert reading.verdict == "not yet known" and reading.one_source, reading.describe()
    assert "does not hold without one source" in reading.describe()


def test_outcomes_from_one_source_are_no_evidence_and_an_equal_challenger_reads_not_worse(tmp_path):
    store = _store(tmp_path)
    a, b = _traffic(store, 400)
    _label(store, a[:200], 0.01, "ops")
    _label(store, b[:200], 0.01, "ops")
    assert _guardrail(tmp_path) == []  # EVALUATION_MIN_SOURCES=2: one source decides nothing
    _label(store, a[200:], 0.01, "labelling")
    _label(store, b[200:], 0.01, "labelling")
    [observed] = _guardrail(tmp_path)
    reading = read(Evidence(observed, 0.05), ALPHA)
    assert reading.verdict == "not worse" and not reading.one_source, reading.describe()
