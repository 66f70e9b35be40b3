"""Additive explanations of a model's answers, one attribution per input column
(`mlops_base.explain.explainers.explain`), the algorithms under them, and the background sample
stored with each version. Nothing here is imported by the package: the Dagster code location loads
without numpy, pandas or scikit-learn."""
