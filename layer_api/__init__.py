"""The layer API: what the core (the Dagster code location, the model server) calls and what an
optional layer implements, below both.

- `hookspecs`: the hooks, one documented spec each; `hookimpl` marks a layer's implementations;
- `manager`: loads the env's enabled layers (built once per process with its settings: each
  entry point of the `mlops.layers` group is a factory `Layer(settings)`) and calls them through
  `pm.hook` in typed methods;
- `state`: which layers are on, per env (`envs/<env>/layers.yaml`);
- `events`: the lifecycle and serving event vocabularies.
"""

from layer_api.hookspecs import AnsweredPrediction, LayerInfo, RampObservations, RowsRejected, ScoredBatch, hookimpl

__all__ = ["AnsweredPrediction", "LayerInfo", "RampObservations", "RowsRejected", "ScoredBatch", "hookimpl"]
