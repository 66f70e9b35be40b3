"""The model server's settings: routing, limits, credentials, hot-swap, backends, safe loading (one
concern of `mlops_base.settings_concerns`, in a module of its own for its size)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import Field, Json, field_validator

from mlops_base.aliases import Alias
from mlops_base.env_settings import EnvSettings, Process, ReadBy, Secret

# where a variant's model runs: in the model server's process, or in a Triton Inference Server
Backend = Literal["sklearn", "triton"]
# how requests are split between the champion (A) and the challenger (B)
SelectionMode = Literal["ab_test", "canary", "blue_green", "shadow", "ramp"]


class ServingSettings(EnvSettings):
    """The model server: routing, limits, hot-swap, backends."""

    TITLE: ClassVar[str] = "serving"
    READ_BY: ClassVar[tuple[Process, ...]] = ("serving",)

    # the reload guard: the token callers sent before a rotation (accepted while set), and how many
    # wrong tokens a client may send per window before it is answered 429
    reload_secret_token_previous: Annotated[str, Secret()] = ""
    reload_max_failures: int = Field(5, ge=1)
    reload_lockout_s: int = Field(60, ge=1)
    # who may send outcomes (POST /feedback) and read the judgement (GET /evaluation): one token, or
    # one per source of outcomes as `name:token,name:token` (the evaluation layer records each
    # outcome's source); `_PREVIOUS` is accepted too during a rotation. Empty: nobody may.
    feedback_token: Annotated[str, Secret(), ReadBy(("launcher", "dagster", "serving"))] = ""
    feedback_token_previous: Annotated[str, Secret()] = ""
    # who may ask for predictions on the scoring routes; empty: anyone who reaches the server (the
    # prod env refuses to serve without one; Dagster's synthetic probe asks with it)
    predict_token: Annotated[
        str,
        Secret(needed_by=("serving",), when=lambda s: s.mlops_env == "prod"),
        ReadBy(("launcher", "dagster", "serving")),
    ] = ""
    predict_token_previous: Annotated[str, Secret()] = ""
    # ramp: B's share steps through RAMP_STEPS as the ramp sensor's guardrails allow (the step is read
    # from the registry, so every replica routes the same share)
    alias_selection_mode: Annotated[SelectionMode, ReadBy(("serving", "dagster"))] = "ab_test"
    default_alias: Alias = Alias.A
    ab_test_percent: int = Field(10, ge=0, le=100)
    canary_percent: int = Field(10, ge=0, le=100)
    # B's shares in ramp mode, in percent, increasing; promoted after the last
    ramp_steps: Annotated[str, ReadBy(("serving", "dagster"))] = Field(
        "1,5,25,50", pattern=r"^\s*\d{1,2}(\s*,\s*\d{1,2})*\s*$"
    )
    serving_backend: Backend = "sklearn"
    # per-alias exceptions, e.g. {"B": "triton"}: a challenger on Triton next to an in-process champion
    serving_backend_by_alias: Json[dict[Alias, Backend]] = Field(default="{}", validate_default=True)
    # Triton backend: the server's HTTP URL (`./mlops up` starts one and sets it), the model
    # repository it reads (the model server exports into it), the key of its repository API
    triton_url: Annotated[str, ReadBy(("launcher", "serving"))] = Field("", pattern=r"^$|^https?://[^/\s]+$")
    triton_model_repository: Annotated[Path | None, ReadBy(("launcher", "serving"))] = None
    triton_admin_key: Annotated[str, Secret(needed_by=("serving",), when=lambda s: s.uses_triton)] = ""
    triton_timeout_s: float = Field(10.0, gt=0, le=300)
    max_rows: int = Field(10_000, ge=1)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    # POST /explain: how long one may take before it answers 504, and how many rows it takes (an
    # explanation costs far more than a prediction; they run one at a time, off the event loop)
    explain_timeout_s: float = Field(10.0, gt=0, le=300)
    explain_max_rows: int = Field(100, ge=1, le=10_000)
    # the server logs a scoring request only when it fails or takes longer than this (uvicorn's
    # access log is off: a line per request cost ~35% of a one-row prediction)
    request_log_slow_ms: float = Field(1000.0, ge=0)
    # Micro-batching: concurrent small requests to one variant share one predict call.
    batch_max_rows: int = Field(1_000, ge=0, description="rows per shared predict call; 0 turns batching off")
    batch_max_wait_us: int = Field(
        0, ge=0, le=100_000, description="how long a request may wait for others; 0 = only those already waiting"
    )
    # how often each replica asks the registry where its aliases point (0: never; pushes only)
    alias_poll_seconds: float = Field(2.0, ge=0, le=3600)
    # where model artifacts may be loaded from (comma-separated URI prefixes)
    model_artifact_roots: str = "mlflow-artifacts:/"
    # safe loading (docs/SECURITY.md): the flavours loaded (sklearn and lightgbm are read by the server
    # itself, skops types checked against the platform's allowlist; another one named here loads through
    # MLflow's pyfunc loader, which may run the artifact's code)
    model_allowed_flavours: str = "sklearn,lightgbm,xgboost"
    # pickle and cloudpickle models run code when loaded: anyone who can write the registry can run
    # code in the model server. Refused unless true.
    model_allow_pickle: bool = False
    # a version without the digest the platform logs at training cannot be verified: refused unless true
    model_allow_unverified: bool = False

    @field_validator("ramp_steps")
    @classmethod
    def _increasing_steps(cls, value: str) -> str:
        steps = [int(step) for step in value.split(",")]
        if steps[0] < 1 or any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(f"RAMP_STEPS must be increasing percents from 1 to 99, got {value!r}")
        return value

    @property
    def ramp_step_list(self) -> tuple[int, ...]:
        return tuple(int(step) for step in self.ramp_steps.split(","))

    def backend_of(self, alias: Alias) -> Backend:
        return self.serving_backend_by_alias.get(alias, self.serving_backend)

    @property
    def uses_triton(self) -> bool:
        return "triton" in {self.backend_of(alias) for alias in Alias}

    @property
    def triton_repository(self) -> Path:
        """Where the model server exports Triton models and Triton reads them."""
        return Path(self.triton_model_repository or self.state_dir / "triton" / "models")
