"""The one data plane every prediction route goes through: routing, leases, the layers' request
forms, validation, micro-batched scoring and shadow traffic. Routers only translate bodies and
answers (MLServer's split); they never hold request logic of their own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio
import numpy as np
import pandas as pd
from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from layer_api import AnsweredPrediction, RowsRejected
from layer_api.manager import LayerManager
from mlops_base.aliases import CHALLENGER, CHAMPION, Alias
from mlops_base.log_context import request_id
from mlops_base.ramp import RAMP_TAG, RampState, current, last_decision, step_of
from mlops_base.settings import Settings
from serving.columns import Table, describe, to_frame
from serving.errors import mark_answering
from serving.explain_thread import ExplainThread
from serving.explain_worker import ExplainWorker, WorkerStopped
from serving.inputs import Inputs, OtherForm, PayloadError, Rows, check_shape, numeric_array
from serving.prediction_ids import PredictionIds
from serving.runtimes.base import (
    ModelInput,
    ModelRuntime,
    NoProbabilities,
    NotExplainable,
    RuntimeInfo,
    RuntimeUnavailable,
)
from serving.shadow import ShadowStats
from serving.traffic_split import NoModelLoaded, Routing, bucket, route
from serving.variants import VariantRegistry

if TYPE_CHECKING:
    from mlops_base.explain.explainers import Explanation

NAMED_HINT = {"data": "send dataframe_split or dataframe_records"}

_log = logging.getLogger("serving.data_plane")


class Answer(NamedTuple):
    """What one alias answered: its model's reference, the input it scored, its predictions (and
    class probabilities, when asked: its classes and one row of probabilities per input row)."""

    alias: Alias
    info: RuntimeInfo
    rows: ModelInput
    predictions: Any
    probabilities: tuple[list, np.ndarray] | None = None
    prediction_id: str | None = None  # issued when a layer records the prediction (feedback names it)
    explanation: Explanation | None = None  # when asked ("explain": true): by the runtime that answered


class DataPlane:
    def __init__(self, settings: Settings, variants: VariantRegistry, layers: LayerManager, shadow: ShadowStats):
        self.settings = settings
        self.variants = variants
        self.layers = layers
        self.shadow = shadow
        # a layer reads other body forms (e.g. {"entity_ids": [...]}, feast layer on)
        self.other_forms = layers.provides_request_rows()
        # what records answered predictions (evaluation layer on); None: not even a call
        self.record = None
        self.ids = PredictionIds()
        self.routing = Routing.of(settings)  # replaced whole when the ramp's step moves
        self.ramp_decision: dict[str, Any] | None = None  # the ramp sensor's last, from the registry
        self.explain_thread = ExplainThread()  # one explanation at a time, at the lowest priority
        # the process for explanations that loop in Python (started at the first): /predict keeps the GIL
        self.explain_worker = ExplainWorker(settings.explain_timeout_s)

    def follow_tags(self, tags: dict[str, str]) -> None:
        """The ramp's step and last decision as the registry holds them now (the alias watch's every
        answer): the routing is replaced when the step moved."""
        if self.routing.mode != "ramp":
            return
        state = RampState.from_tag(tags.get(RAMP_TAG))
        if state != self.routing.ramp:
            self.routing = self.routing._replace(ramp=state)
        self.ramp_decision = last_decision(tags, state)

    def ramp(self) -> dict[str, Any] | None:
        """Where the ramp stands for the challenger served now (`GET /ramp`), None outside ramp mode."""
        routing = self.routing
        if routing.mode != "ramp":
            return None
        challenger, champion = self.variants.served_version(CHALLENGER), self.variants.served_version(CHAMPION)
        state = current(routing.ramp, challenger)
        step = step_of(state, challenger, routing.steps)
        decision = self.ramp_decision if state is not None else None
        return {
            "steps": list(routing.steps),
            "step": step,
            "share_percent": routing.steps[step] if challenger and challenger != champion else 0,
            "challenger_version": challenger,
            "champion_version": champion,
            "step_since": state.since if state else None,
            "started": state.started if state else None,
            "decision": decision,
        }

    async def predict(self, inputs: Inputs, client_id: str | None) -> tuple[Answer, Callable[[], None] | None]:
        """Score on the alias the routing mode picks for this client (sticky by its id); with a
        shadow alias, what scores a copy after the response (blocking: run it in a worker thread)."""
        client_bucket = bucket(client_id)
        chosen = self._route(client_bucket)
        answer = await self.predict_alias(chosen.alias, inputs, client_bucket)
        if chosen.shadow is None:
            return answer, None
        return answer, partial(self._shadow_score, chosen.shadow, answer.rows, answer.predictions)

    def _route(self, client_bucket: int):
        try:
            routing = self.routing
            challenger = self.variants.served_version(CHALLENGER) if routing.mode == "ramp" else None
            return route(routing, client_bucket, self.variants.loaded(), challenger)
        except NoModelLoaded as exc:
            raise HTTPException(503, str(exc)) from exc

    async def explain(
        self, inputs: Inputs, alias: Alias | None, client_id: str | None
    ) -> tuple[Alias, RuntimeInfo, Explanation]:
        """Explain the rows on `alias`, or on the one the routing picks for this client (as /predict
        would answer them)."""
        alias = alias or self._route(bucket(client_id)).alias
        with self.variants.lease(alias) as runtime:
            if runtime is None or runtime.info is None:
                raise HTTPException(503, f"alias {alias} has no model loaded")
            x = self._model_input(inputs.rows, runtime.info, inputs.where)
            return alias, runtime.info, await self._explained(runtime, x)

    async def _explained(self, runtime: ModelRuntime, x: ModelInput) -> Explanation:
        """The rows' explanation by `runtime` (leased by the caller): in the explain thread, one
        explanation at a time, within EXPLAIN_TIMEOUT_S; /predict's event loop never waits for it."""
        if len(x) > self.settings.explain_max_rows:
            raise PayloadError(
                422, f"{len(x)} rows; an explanation takes at most EXPLAIN_MAX_ROWS={self.settings.explain_max_rows}"
            )
        info = runtime.info
        frame = x if isinstance(x, pd.DataFrame) else pd.DataFrame(x, columns=info.feature_names)
        try:
            with anyio.fail_after(self.settings.explain_timeout_s):
                return await self.explain_thread.run(runtime.explain, frame, self.explain_worker)
        except TimeoutError as exc:  # the worker's too: it was stopped
            raise HTTPException(
                504, f"no explanation within EXPLAIN_TIMEOUT_S={self.settings.explain_timeout_s:g} s"
            ) from exc
        except WorkerStopped as exc:
            raise HTTPException(503, str(exc)) from exc
        except NotExplainable as exc:
            raise PayloadError(422, str(exc)) from exc

    async def predict_alias(self, alias: Alias, inputs: Inputs, client_bucket: int | None = None) -> Answer:
        """Score on one alias, under a lease of the runtime it serves now; a failure is marked with
        the alias and version it happened on (its error counts against them)."""
        info = None
        try:
            with self.variants.lease(alias) as runtime:
                if runtime is None:
                    raise HTTPException(503, f"alias {alias} has no model loaded")
                info = runtime.info
                rows = inputs.rows
                if isinstance(rows, OtherForm):
                    rows = await self._layer_rows(rows, info)
                x = self._model_input(rows, info, inputs.where)
                try:
                    predictions = await self.variants.score(runtime, x)
                    probabilities = None
                    if inputs.return_proba or (inputs.proba_if_any and info.classes is not None):
                        probabilities = (info.classes, await self.variants.probabilities(runtime, x))
                except NoProbabilities as exc:
                    asked_by = "outputs.predict_proba" if inputs.where.startswith("inputs") else "return_proba"
                    raise PayloadError(422, f"{asked_by}: {exc}") from exc
                except ValueError as exc:
                    raise PayloadError(422, f"the model rejected the input: {exc}") from exc
                except RuntimeUnavailable as exc:  # this variant's Triton is down; the other variant serves on
                    raise HTTPException(503, f"alias {alias} cannot answer now: {exc}") from exc
                # by the runtime that answered, under the same lease: never another version's
                explanation = await self._explained(runtime, x) if inputs.explain else None
        except Exception as exc:
            mark_answering(exc, alias.value, None if info is None else info.ref.version)
            raise
        prediction_id = None
        if self.record is not None:
            ref, prediction_id = info.ref, self.ids.new()  # the time, then 128 random bits: neither chosen nor guessed
            try:
                self.record(
                    AnsweredPrediction(
                        prediction_id,
                        request_id.get(),
                        time.time(),
                        alias,
                        ref.model_name,
                        ref.version,
                        client_bucket,
                        x,
                        info.feature_names,
                        predictions,
                        explanation,
                    )
                )
            except Exception:  # a layer's recorder that breaks its contract never fails the answer
                _log.exception("a layer failed to record prediction %s", prediction_id)
        return Answer(alias, info, x, predictions, probabilities, prediction_id, explanation)

    def _model_input(self, rows: Rows | Table, info: RuntimeInfo, where: str) -> ModelInput:
        """The body's rows in the form the model takes: a float64 array in column order for a
        positional model, else a frame of its named, typed columns."""
        if isinstance(rows, Table):
            if info.positional and rows.numbers_only and rows.columns == info.feature_names:
                array = numeric_array(rows.rows)  # the model's columns in its order: rows as they are
                if array is not None:
                    return check_shape(array, info.feature_names, self.settings.max_rows, rows.form)
            frame = to_frame(rows, info.columns, self.settings.max_rows)
            return frame.to_numpy(dtype=np.float64) if info.positional else frame
        array = check_shape(rows, info.feature_names, self.settings.max_rows, where)
        if info.positional:
            return array
        if not info.all_numeric:
            raise PayloadError(
                422,
                f"{where}: positional rows need an all-numeric model; this one takes named columns "
                f"{describe(info.columns)}: {NAMED_HINT.get(where, 'send them by name')}",
            )
        return pd.DataFrame(array, columns=info.feature_names)

    async def _layer_rows(self, document: OtherForm, info: RuntimeInfo) -> Rows:
        """The rows a layer provides for another body form, for the model version that answers:
        from the layer's memory on the event loop when it has them, else read in a worker thread."""
        asked = (dict(document), info.ref.model_name, info.ref.version, info.feature_names)
        try:
            rows = self.layers.request_rows_in_memory(*asked)
            if rows is None:
                rows = await run_in_threadpool(self.layers.request_rows, *asked)
        except RowsRejected as exc:
            raise PayloadError(422, str(exc)) from exc
        except Exception as exc:  # the layer's store is down or broken: this request fails, the server serves on
            raise HTTPException(503, f"rows for {sorted(document)} could not be fetched: {exc}") from exc
        if rows is None:
            raise PayloadError(422, f"body has no `data` and no layer reads its form (keys: {sorted(document)})")
        return np.asarray(rows, dtype=np.float64)

    def _shadow_score(self, alias: Alias, rows: ModelInput, answered: Any) -> None:
        """After the response: the shadow alias scores a copy, under its own lease (in a worker thread)."""
        with self.variants.lease(alias) as runtime:
            if runtime is not None and runtime.info is not None and runtime.info.accepts(rows):
                self.shadow.record(runtime, rows, answered)
