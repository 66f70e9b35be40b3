"""The `mlops` verbs: one module each, the only home of the verb (its help, its arguments, its run).

A verb module imports only the standard library at its top (and `mlops_base.aliases`), so that
`./mlops --help` and `--version` answer on a fresh clone before anything is installed; `run`
imports what the verb needs. Adding a verb: a module here with `HELP`, `arguments(parser)` and
`run(settings, args) -> int`, and its name in `VERBS` (docs/guides/cli-verbs.md).
"""

from __future__ import annotations

from types import ModuleType

from mlops_platform.verbs import (
    backup,
    card,
    layers,
    logs,
    materialize,
    mlflow_server,
    predict,
    promote,
    replay,
    reset,
    restore,
    rollback,
    score,
    status,
    traffic,
    up,
)

# in the order `mlops --help` lists them
VERBS: dict[str, ModuleType] = {
    "up": up,
    "status": status,
    "rollback": rollback,
    "promote": promote,
    "replay": replay,
    "card": card,
    "predict": predict,
    "score": score,
    "logs": logs,
    "reset": reset,
    "backup": backup,
    "restore": restore,
    "materialize": materialize,
    "layers": layers,
    "traffic": traffic,
    "mlflow-server": mlflow_server,
}
