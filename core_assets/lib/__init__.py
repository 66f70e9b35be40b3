"""Plain functions behind the assets, callable (and tested) without Dagster.

numpy, pandas, scikit-learn and MLflow are imported inside the functions that use them: every
process that loads the code location (each run, the daemon, the code server) imports these
modules, and most of them never touch a frame (numpy and pandas alone cost ~0.5 s).
"""
