"""The evaluation layer's settings, read from the env's file and environment like the core's."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from mlops_base.env_settings import Process, ReadBy, Secret
from mlops_base.layer_settings import LayerSettings


class EvaluationSettings(LayerSettings):
    READ_BY: ClassVar[tuple[Process, ...]] = ("dagster", "serving")

    # what the prediction log keeps of each request's inputs (its predictions are always kept):
    # nothing, a sample (PREDICTION_LOG_SAMPLE of the requests) or all of them
    prediction_log_inputs: Annotated[Literal["off", "sample", "all"], ReadBy(("serving",))] = "sample"
    prediction_log_sample: Annotated[float, ReadBy(("serving",))] = Field(0.1, ge=0.0, le=1.0)
    # the input columns kept (comma-separated); the others are dropped from the log. Empty: all
    prediction_log_columns: Annotated[str, ReadBy(("serving",))] = ""
    # how long logged predictions, their outcomes and the local log files are kept
    prediction_log_retention_days: Annotated[float, ReadBy(("serving",))] = Field(30.0, gt=0)
    # records waiting to be written; more are dropped and counted, never a slower request
    prediction_log_queue: Annotated[int, ReadBy(("serving",))] = Field(100_000, ge=100)
    # a log file is closed (and copied to S3 in prod) at this size
    prediction_log_rotate_mb: Annotated[float, ReadBy(("serving",))] = Field(64.0, gt=0)
    # where predictions and outcomes are joined (empty: SQLite under the env's state dir, shared by
    # the replicas of one machine; a postgresql:// URL for replicas on several hosts)
    evaluation_db_url: Annotated[str, Secret()] = ""
    # feedback is accepted for predictions this recent
    feedback_ttl_hours: Annotated[float, ReadBy(("serving",))] = Field(168.0, gt=0)
    # the judgement: significance level, outcomes per side before any decision, and the mixture's
    # scale in outcome standard deviations (the effect size the test is most sensitive to)
    evaluation_alpha: float = Field(0.05, gt=0.0, lt=0.5)
    evaluation_min_samples: int = Field(100, ge=2)
    evaluation_mixing_sd: float = Field(0.5, gt=0.0)
    # evidence a decision rests on: outcomes from at least this many sources (feedback credentials),
    # none of which may count for more than this share of the outcomes judged once there are several
    # (the rest of its outcomes are left out, its earliest kept)
    evaluation_min_sources: int = Field(2, ge=1)
    evaluation_max_source_share: float = Field(0.5, gt=0.0, le=1.0)
    # online_evaluation is materialized when this many new outcomes arrived, or this often
    evaluation_min_new_outcomes: Annotated[int, ReadBy(("dagster",))] = Field(50, ge=1)
    evaluation_every_minutes: Annotated[float, ReadBy(("dagster",))] = Field(60.0, gt=0)
    # "better" promotes the challenger, "worse" rolls it back (through promote_job / rollback_job)
    auto_promote: Annotated[bool, ReadBy(("dagster",))] = False
