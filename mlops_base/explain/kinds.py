"""What an explanation is, in words a response schema shares with the explainers (no numpy here:
the model server's schemas import it)."""

from typing import Literal

OutputKind = Literal["probability", "log_odds", "value"]  # what the attributions add up to
Method = Literal[
    "tree_shap", "lightgbm_pred_contrib", "xgboost_pred_contrib", "linear", "exact_shapley", "permutation_shapley"
]
