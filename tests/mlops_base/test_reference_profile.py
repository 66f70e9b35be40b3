"""The reference profile: shares that live data can be binned against the same way, every
column's profile small whatever the data, and the predictions' profile beside the inputs'."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlops_base import reference_profile
from mlops_base.reference_profile import (
    BINS,
    MAX_CATEGORIES,
    build_profile,
    category_of,
    column_profile,
    encode,
    numeric_bin,
    sample,
    summary_markdown,
)


def _size(column: dict) -> int:
    return len(json.dumps(column, separators=(",", ":")).encode())


def test_a_numeric_column_is_cut_into_quantile_bins_that_live_values_fall_into_alike():
    rng = np.random.default_rng(1)
    values = pd.Series(np.concatenate([rng.normal(10, 2, 9_900), [np.nan] * 100]))
    profile = column_profile(values, "number")
    assert profile["missing_share"] == 0.01
    assert len(profile["quantiles"]) == BINS + 1 and len(profile["shares"]) == BINS
    assert profile["quantiles"][0] == values.min() and profile["quantiles"][-1] == values.max()
    assert sum(profile["shares"]) == pytest.approx(1.0)
    assert all(abs(share - 1 / BINS) < 0.002 for share in profile["shares"])  # quantile bins: equal shares
    again = np.bincount(numeric_bin(values.dropna().to_numpy(), profile["edges"]), minlength=BINS) / 9_900
    assert again == pytest.approx(profile["shares"], abs=1e-6)  # the same binning, live or reference


def test_tied_values_merge_bins_and_keep_their_true_shares():
    profile = column_profile(pd.Series([0.0] * 90 + [1.0] * 10), "number")
    assert profile["edges"] == [0.0, 1.0] and profile["shares"] == [0.0, 0.9, 0.1]  # nothing below 0


def test_a_column_without_finite_values_has_no_bins():
    assert column_profile(pd.Series([np.nan, np.nan]), "number")["quantiles"] == []
    assert column_profile(pd.Series([np.nan, np.nan]), "number")["missing_share"] == 1.0


def test_categories_keep_the_most_frequent_and_sum_the_rest_as_other():
    values = pd.Series(["a"] * 50 + ["b"] * 30 + [f"rare-{i}" for i in range(MAX_CATEGORIES + 20)] + [None] * 10)
    profile = column_profile(values, "category")
    assert list(profile["categories"])[:2] == ["a", "b"]
    assert len(profile["categories"]) == MAX_CATEGORIES
    assert profile["other_share"] == pytest.approx(22 / (80 + MAX_CATEGORIES + 20), abs=1e-6)
    assert profile["missing_share"] == pytest.approx(10 / len(values), abs=1e-6)
    assert sum(profile["categories"].values()) + profile["other_share"] == pytest.approx(1.0, abs=1e-4)


def test_booleans_are_categories_named_as_text():
    profile = column_profile(pd.Series([True, False, True, None], dtype=object), "category")
    assert profile["categories"] == {"True": pytest.approx(2 / 3, abs=1e-6), "False": pytest.approx(1 / 3, abs=1e-6)}
    assert category_of(True) == "True"


def test_every_column_profile_stays_under_64_kib_whatever_the_data():
    names = pd.Series([f"{i:06d}" + "x" * 2_000 for i in range(20_000)])  # 20,000 long distinct names
    assert _size(column_profile(names, "category")) <= 64 * 1024
    wide = pd.Series(np.random.default_rng(0).standard_cauchy(1_000_000))
    assert _size(column_profile(wide, "number")) <= 64 * 1024


def test_large_data_is_profiled_from_a_seeded_sample(monkeypatch):
    monkeypatch.setattr(reference_profile, "MAX_ROWS", 100)
    frame = pd.DataFrame({"x": np.arange(1_000, dtype=float)}, index=np.arange(1_000) * 7)
    first, second = sample(frame), sample(frame)
    assert len(first) == 100 and first.index.equals(second.index) and first.index.is_monotonic_increasing


def test_the_profile_holds_every_input_column_and_the_predictions_with_a_stable_digest():
    frame = pd.DataFrame({"age": [30.0, 40.0, np.nan, 50.0], "plan": ["a", "b", "a", np.nan]})
    profile = build_profile(frame, {"age": "number", "plan": "string"}, np.array([1, 0, 1, 1]), "category")
    assert sorted(profile["columns"]) == ["age", "plan"] and profile["rows"] == 4
    assert profile["prediction"]["categories"] == {"1": 0.75, "0": 0.25}
    regression = build_profile(frame, {"age": "number"}, np.array([1.5, 2.5, 3.5, 4.5]), "number")
    assert regression["prediction"]["quantiles"][0] == 1.5
    assert encode(profile) == encode(json.loads(encode(profile)[0]))  # key order never changes the digest
    table = summary_markdown(profile)
    assert "| age | number | 25.0% |" in table and "| plan | category | 25.0% | a 67%, b 33% |" in table
    assert "| prediction (the model's) | category |" in table
