"""What a batch reads and writes (a path or URI: `mlops_base.file_uris`): Parquet or CSV in,
Parquet out, a chunk of rows at a time so memory stays bounded whatever the input's size."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from pyarrow import fs

from mlops_base.file_uris import S3Access, filesystem
from serving.columns import Column


def is_csv(uri: str) -> bool:
    return uri.lower().split("?")[0].endswith((".csv", ".csv.gz"))


def column_names(uri: str, s3: S3Access) -> list[str]:
    """The input's columns, read from its header (Parquet's schema, CSV's first line)."""
    found, path = filesystem(uri, s3)
    if is_csv(uri):
        with found.open_input_stream(path, compression="detect") as stream:
            return pcsv.open_csv(stream).schema.names
    with found.open_input_file(path) as handle:
        return pq.ParquetFile(handle).schema_arrow.names


def chunks(uri: str, s3: S3Access, columns: list[Column], chunk_rows: int) -> Iterator[pa.Table]:
    """The input, `chunk_rows` rows at a time (the last chunk shorter); a CSV's model columns as text
    (`serving.batch.checks` parses them as their kinds, refusing a row rather than the file)."""
    found, path = filesystem(uri, s3)
    if is_csv(uri):
        text = {c.name: pa.string() for c in columns}
        convert = pcsv.ConvertOptions(column_types=text, strings_can_be_null=True)
        with found.open_input_stream(path, compression="detect") as stream:
            reader = pcsv.open_csv(stream, convert_options=convert)
            yield from _rechunked((batch for batch in reader), chunk_rows)
        return
    with found.open_input_file(path) as handle:
        yield from _rechunked(pq.ParquetFile(handle).iter_batches(batch_size=chunk_rows), chunk_rows)


def _rechunked(batches: Iterator[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `chunk_rows` rows (the last one shorter), whatever sizes the reader gives."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


class ParquetOut:
    """A Parquet file written a chunk at a time beside its final name and put in place whole at the
    end (a failed batch leaves the previous file, never half of one), its sha256 read as it is
    written (the same rows and version write the same bytes: no timestamps, one writer's settings)."""

    def __init__(self, uri: str, s3: S3Access):
        self.uri, self.s3 = uri, s3
        self._partial = f"{uri}.partial"
        self._writer: pq.ParquetWriter | None = None
        self._stream: _Hashing | None = None
        self._hash = hashlib.sha256()
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            found, path = filesystem(self._partial, self.s3)
            if isinstance(found, fs.LocalFileSystem):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._stream = _Hashing(found.open_output_stream(path), self._hash)
            self._writer = pq.ParquetWriter(self._stream, table.schema, compression="zstd")
        self._writer.write_table(table)
        self.rows += table.num_rows

    def commit(self) -> str | None:
        """The file in place and its sha256; nothing written: an earlier run's file removed, None."""
        found, path = filesystem(self.uri, self.s3)
        if self._writer is None:
            if found.get_file_info(path).type == fs.FileType.File:
                found.delete_file(path)
            return None
        self._writer.close()
        self._stream.close()
        found.move(filesystem(self._partial, self.s3)[1], path)
        return self._hash.hexdigest()

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._stream.close()
            found, path = filesystem(self._partial, self.s3)
            found.delete_file(path)


class _Hashing:
    """A writable file object that hashes what passes through it."""

    def __init__(self, stream, digest):
        self._stream = stream
        self._digest = digest
        self.closed = False

    def write(self, data) -> int:
        self._digest.update(data)
        return self._stream.write(data)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            self.closed = True
