"""A profile's column as bins: missing values in bin 0, a value the reference never had in the
last (unseen) bin, numbers in the quantile bins the reference's shares were counted in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_base.reference_profile import column_profile
from optional_layers.drift.reference import bins_of


def test_numbers_count_missing_first_then_the_reference_bins():
    bins = bins_of(column_profile(pd.Series([1.0, 2.0, 3.0, 4.0, np.nan]), "number"))
    counts = bins.counts(np.array([np.nan, 0.5, 2.5, 100.0]))
    assert counts[0] == 1 and counts.sum() == 4 and counts[-1] == 1  # above the reference's maximum: the last bin
    assert bins.probabilities.sum() == pytest.approx(1.0) and (bins.probabilities > 0).all()


def test_categories_count_missing_known_and_unseen_values():
    bins = bins_of(column_profile(pd.Series(["a", "a", "b", None]), "category"))
    counts = bins.counts(np.array(["a", None, "b", "never seen", float("nan"), "a"], dtype=object))
    assert counts.tolist() == [2, 2, 1, 1]  # missing, a, b, unseen
    assert bins.probabilities[-1] < 0.1  # the reference never had an unseen value: rare, not impossible


def test_booleans_are_counted_as_their_category_names():
    bins = bins_of(column_profile(pd.Series([True, False, True], dtype=object), "category"))
    assert bins.counts(np.array([True, True, False], dtype=object)).tolist() == [0, 2, 1, 0]
