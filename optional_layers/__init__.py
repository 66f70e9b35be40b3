"""Optional layers (monitoring, feature store, logging) that attach to the core through hooks.

`hookspecs` is the contract, `manager` loads the env's enabled layers and calls them through
`pm.hook`, `state` and `toggle` keep which layers are on per env. The core imports only those
modules; each layer lives in its own subpackage and is imported only when it is on.
"""

from optional_layers.hookspecs import hookimpl

__all__ = ["hookimpl"]
