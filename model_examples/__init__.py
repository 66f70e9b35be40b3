"""Training code of the example envs (`envs/diabetes-regression`, `envs/churn-pipeline`,
`envs/lightgbm-breast-cancer`): templates for a team's own `TRAINER` and `ESTIMATOR` factories.
They import only their libraries, never the platform."""
