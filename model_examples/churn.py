"""An ESTIMATOR factory (ESTIMATOR=model_examples.churn:churn_pipeline): a scikit-learn `Pipeline`
whose `ColumnTransformer` imputes and scales the numeric columns and imputes and one-hot encodes
the categorical and boolean ones, for `envs/churn-pipeline/customers.csv` (made by
`synthetic_customers`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["tenure_months", "monthly_charges", "support_calls"]
CATEGORICAL = ["plan", "region"]
BOOLEAN = ["autopay"]


def churn_pipeline(C: float = 1.0, max_iter: int = 1000) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
                ),
                CATEGORICAL,
            ),
            (
                "boolean",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                BOOLEAN,
            ),
        ]
    )
    return Pipeline([("columns", columns), ("classify", LogisticRegression(C=C, max_iter=max_iter))])


def synthetic_customers(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Customers with numeric, categorical and boolean columns, ~5% of values missing, and whether
    they churned ("yes"/"no") from a known logistic rule."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, n).astype(float),
            "monthly_charges": rng.normal(70, 25, n).clip(15, 150).round(2),
            "support_calls": rng.poisson(1.5, n).astype(float),
            "plan": rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.3, 0.2]).astype(object),
            "region": rng.choice(["north", "south", "east", "west"], n).astype(object),
            "autopay": rng.random(n) < 0.55,
        }
    )
    logit = (
        -0.05 * frame["tenure_months"]
        + 0.03 * (frame["monthly_charges"] - 70)
        + 0.6 * frame["support_calls"]
        + frame["plan"].map({"basic": 0.8, "standard": 0.0, "premium": -0.9})
        - 0.9 * frame["autopay"]
    )
    frame["churned"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame["autopay"] = frame["autopay"].astype(object)
    for column in ["tenure_months", "monthly_charges", "plan", "autopay"]:
        frame.loc[rng.random(n) < 0.05, column] = np.nan
    return frame
