"""A trainer returning a LightGBM model (TRAINER=model_examples.lightgbm_classifier:train): logged
with MLflow's LightGBM flavour and served by the model server's generic pyfunc runtime."""

from __future__ import annotations

import lightgbm
import pandas as pd


def train(x_train: pd.DataFrame, y_train: pd.Series, params: dict) -> lightgbm.LGBMClassifier:
    model = lightgbm.LGBMClassifier(random_state=0, verbose=-1, **params)
    return model.fit(x_train, y_train)
