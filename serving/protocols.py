"""The server's own protocols, in the order their routes are matched (the prediction routes first)."""

from __future__ import annotations

from serving.protocol import Protocol
from serving.routers import card, explain, mlflow_scoring, open_inference, predict, reload, status

CORE_PROTOCOLS: tuple[Protocol, ...] = (
    predict.PROTOCOL,
    explain.PROTOCOL,
    open_inference.PROTOCOL,
    mlflow_scoring.PROTOCOL,
    reload.PROTOCOL,
    status.PROTOCOL,
    card.PROTOCOL,
)
