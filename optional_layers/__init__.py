"""The optional layers: plugins only, one subpackage (or module) per layer, each a class built once
per process with its settings and registered through the `mlops.layers` entry-point group.

A layer imports only `layer_api`, `core_assets.api`, `serving.api` and the bottom package
(import-linter contracts say so, with no per-layer list); the core never imports a layer.
"""
