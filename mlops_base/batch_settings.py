"""Batch scoring's settings: what the `batch_predictions` asset reads and writes, with which alias, in
which partitions (one concern of the core's settings, in a module of its own)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from mlops_base.aliases import Alias
from mlops_base.env_settings import EnvSettings, Process

PARTITION = "{partition}"  # where BATCH_INPUT and BATCH_OUTPUT put the partition's key


class BatchSettings(EnvSettings):
    """Batch scoring: a dataset scored with a version of the model, a partition a run."""

    TITLE: ClassVar[str] = "batch scoring"
    READ_BY: ClassVar[tuple[Process, ...]] = ("launcher", "dagster")

    batch_input: str = Field(
        "",
        description="a CSV or Parquet file per partition: a path (relative to the env's folder), or a file:// or "
        "s3:// URI; {partition} stands for the partition's key; empty: nothing to score",
    )
    batch_output: str = Field(
        "batch/predictions-{partition}.parquet",
        description="the Parquet file of a partition's predictions (relative to the state dir); the rows the "
        "model server would refuse go beside it, in <name>.rejects.parquet, with the reason",
    )
    batch_partitions: str = Field(
        "", pattern=r"^$|^[\w.-]+(,[\w.-]+)*$", description="partition keys; empty: one a day from BATCH_START_DATE"
    )
    batch_start_date: date = Field(date(2026, 1, 1), description="the first daily partition")
    batch_alias: Alias = Field(Alias.A, description="the version it names when a run begins scores the whole partition")
    batch_id_column: str = Field("", description="kept beside each prediction instead of the model's columns")
    batch_chunk_rows: int = Field(
        100_000, ge=1_000, le=10_000_000, description="rows read, checked and scored at a time (bounds the memory)"
    )
    batch_workers: int = Field(0, ge=0, le=64, description="processes scoring a partition's chunks; 0: one per core")
    batch_max_concurrent: int = Field(
        2, ge=1, le=100, description="partitions scored at once (the local pool's limit; on Kubernetes the run queue's)"
    )
    batch_run_cpu: str = Field(
        "2",
        pattern=r"^\d+(\.\d+)?m?$",
        description="CPU a batch run's pod requests on Kubernetes (its workers: one per core)",
    )
    batch_run_memory: str = Field(
        "2Gi", pattern=r"^\d+(Mi|Gi)$", description="memory a batch run's pod requests and is limited to on Kubernetes"
    )
    batch_rescore_on_release: bool = Field(
        False, description="a new version on BATCH_ALIAS re-scores the partitions scored before"
    )

    def batch_uri(self, template: str, key: str, base: Path) -> str:
        """`template` for partition `key`: a URI as is, a relative path under `base`."""
        filled = template.replace(PARTITION, key)
        return filled if "://" in filled or Path(filled).is_absolute() else str(base / filled)

    @property
    def partition_keys(self) -> list[str]:
        """BATCH_PARTITIONS' keys (none: daily partitions)."""
        return [key for key in self.batch_partitions.split(",") if key]
