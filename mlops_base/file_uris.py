"""Files named by a local path or a URI pyarrow's filesystems know (`file://`, `s3://`: the env's
object store in prod, at the env's S3 endpoint with its keys): batch scoring's inputs and outputs,
for the scorer and for the code location's sensor alike."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyarrow import fs

    from mlops_base.settings import Settings


@dataclass(frozen=True)
class S3Access:
    """Where `s3://` URIs go: the env's S3-compatible endpoint (empty: AWS, the bucket's region
    looked up) and keys (empty: the default credential chain). Passed in, never read from the
    process's AWS_* variables: a test's or an override's settings are the ones used."""

    endpoint_url: str = ""
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)

    @classmethod
    def of(cls, settings: Settings) -> S3Access:
        return cls(settings.s3_endpoint_url, settings.aws_access_key_id, settings.aws_secret_access_key)

    def s3(self, bucket: str) -> fs.S3FileSystem:
        from pyarrow import fs

        keys = {"access_key": self.access_key, "secret_key": self.secret_key} if self.access_key else {}
        if self.endpoint_url:  # an S3-compatible server has no regions to look up
            return fs.S3FileSystem(endpoint_override=self.endpoint_url, region="us-east-1", **keys)
        return fs.S3FileSystem(region=fs.resolve_s3_region(bucket), **keys)


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def filesystem(uri: str, s3: S3Access) -> tuple[fs.FileSystem, str]:
    """The filesystem and path of a local path or a URI (pyarrow imported here: the code location
    loads without it)."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), str(Path(uri).resolve())
    if uri.startswith("s3://"):
        path = uri.removeprefix("s3://")
        return s3.s3(path.split("/", 1)[0]), path
    return fs.FileSystem.from_uri(uri)


def stamp(uri: str, s3: S3Access) -> str | None:
    """The file's size and modification time (a new stamp: a new version of the file), or None
    when there is no file."""
    if is_local(uri):
        path = uri.removeprefix("file://")
        try:
            found = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return f"{found.st_size}-{found.st_mtime_ns}" if os.path.isfile(path) else None
    from pyarrow import fs

    found_fs, path = filesystem(uri, s3)
    info = found_fs.get_file_info(path)
    return f"{info.size}-{info.mtime_ns}" if info.type == fs.FileType.File else None
