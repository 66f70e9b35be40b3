"""`python -m serving.batch`: score a file with one version of the env's model, as the model server
would answer each row. The `batch_predictions` asset runs it (a process of its own: the code
location never imports the model server); its summary is JSON, on stdout or in `--summary`.

Exit status 0 when scored (refused rows are in the rejects file, counted in the summary), 2 when
nothing could be scored (the file's columns, the version's loading), the reason on stderr in one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from mlops_base.settings import SettingsError, load_settings
from serving.batch.checks import BatchInputError
from serving.batch.scorer import BatchJob, score
from serving.runtimes.base import ModelLoadError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.batch", description=__doc__)
    parser.add_argument("--version", required=True, help="the model version to score with (MODEL_NAME's)")
    parser.add_argument("--input", required=True, help="a CSV or Parquet file: a path, file:// or s3:// URI")
    parser.add_argument("--output", required=True, help="the Parquet file the predictions go to")
    parser.add_argument("--rejects", required=True, help="the Parquet file refused rows go to, with the reason")
    parser.add_argument("--id-column", default=None, help="kept beside each prediction instead of the inputs")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=0, help="processes scoring chunks (0: one per core)")
    parser.add_argument("--summary", type=Path, default=None, help="where the JSON summary goes (default: stdout)")
    args = parser.parse_args(argv)
    job = BatchJob(args.version, args.input, args.output, args.rejects, args.id_column, args.chunk_rows, args.workers)
    try:
        summary = score(job, load_settings())
    except (BatchInputError, ModelLoadError, SettingsError, OSError) as exc:  # OSError: e.g. S3 refused
        print(f"nothing scored: {exc}", file=sys.stderr)
        return 2
    document = json.dumps({**dataclasses.asdict(summary), "rows_per_s": summary.rows_per_s})
    if args.summary is None:
        print(document)
    else:
        args.summary.write_text(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
