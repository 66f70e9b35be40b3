"""Additive explanations of a model's answers, one attribution per input column (`explain`), and
the algorithms under them; scikit-learn and LightGBM are imported where a model needs them."""

from mlops_base.explain.explainers import Explanation, explain

__all__ = ["Explanation", "explain"]
