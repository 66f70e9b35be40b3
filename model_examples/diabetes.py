"""A team's own trainer (TRAINER=model_examples.diabetes:train): preprocessing and a
gradient-boosting regressor, for scikit-learn's diabetes data."""

from __future__ import annotations

import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def train(x_train: pd.DataFrame, y_train: pd.Series, params: dict) -> Pipeline:
    """The signature every TRAINER has: the training split and ESTIMATOR_PARAMS in, a fitted model
    with `predict` out."""
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("boost", HistGradientBoostingRegressor(random_state=0, **params)),
        ]
    )
    return model.fit(x_train, y_train)
