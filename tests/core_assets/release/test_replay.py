"""The replay's figures on given models and rows (fast tier): a model that raises or is refused on
some rows is counted row by row; the metric difference on rows with outcomes is paired and its
interval decides; without a champion the candidate is judged alone."""

from __future__ import annotations

import pandas as pd
import pytest

from core_assets.release.replay import judge, score

ROWS = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 25})


class MlflowException(Exception):
    """Named as MLflow's: what its signature enforcement raises (a refusal, the server's 422)."""


class Doubles:
    def predict(self, rows: pd.DataFrame):
        return (rows["x"] * 2).tolist()


class FailsOnFours(Doubles):
    def predict(self, rows: pd.DataFrame):
        if (rows["x"] == 4.0).any():
            raise IndexError("index 4 is out of bounds for row '4.0'")
        return super().predict(rows)


class RefusesThrees(Doubles):
    def predict(self, rows: pd.DataFrame):
        if (rows["x"] == 3.0).any():
            raise MlflowException(
                f"Failed to enforce schema of data '{rows}' with schema '...'. "
                "Error: Incompatible input types for column x"
            )
        return super().predict(rows)


def test_rows_a_model_fails_on_are_counted_by_kind_and_fail_the_replay():
    candidate = score("5", FailsOnFours(), ROWS)
    assert (candidate.errors, candidate.refused) == (25, 0)
    assert candidate.first_problem == "IndexError: index 4 is out of bounds for row '...'"  # a value quoted: emptied
    assert candidate.predictions[:4] == [2.0, 4.0, 6.0, None]
    refused = score("6", RefusesThrees(), ROWS)
    assert (refused.errors, refused.refused) == (0, 25)
    assert refused.first_problem == "MlflowException: Incompatible input types for column x"  # no row quoted
    replay = judge(candidate, score("4", Doubles(), ROWS), [None] * 100, "regression", max_errors=0.01)
    assert not replay.passed and "failed on 25 of 100 logged rows (25.0% > REPLAY_MAX_ERRORS 1.0%" in replay.reasons[0]
    assert replay.disagreement == 0.0  # on the rows both answered


def test_a_worse_metric_on_rows_with_outcomes_fails_with_its_interval():
    labels = (ROWS["x"] * 2).tolist()  # Doubles is right; a model off by one on every row is worse
    off = score("7", type("OffByOne", (), {"predict": lambda self, rows: (rows["x"] * 2 + 1).tolist()})(), ROWS)
    replay = judge(off, score("4", Doubles(), ROWS), labels, "regression", max_errors=0.01)
    assert not replay.passed and replay.metric == "mae" and replay.labelled == 100
    assert replay.difference == pytest.approx(-1.0) and "candidate minus champion v4 +1.0000" in replay.reasons[1]
    same = judge(score("8", Doubles(), ROWS), score("4", Doubles(), ROWS), labels, "regression", 0.01)
    assert same.passed and same.disagreement == 0.0


def test_without_a_champion_the_candidate_is_judged_alone():
    replay = judge(score("1", Doubles(), ROWS), None, [None] * 100, "classification", max_errors=0.0)
    assert replay.passed and replay.reasons == ["v1 answered 100 of 100 logged rows", "no champion to compare with"]
