"""Files named by a local path or a URI pyarrow's filesystems know (`file://`, `s3://`: the env's
object store in prod, its endpoint and keys from the AWS_* variables): batch scoring's inputs and
outputs, for the scorer and for the code location's sensor alike."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyarrow import fs


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def filesystem(uri: str) -> tuple[fs.FileSystem, str]:
    """The filesystem and path of a local path or a URI (pyarrow imported here: the code location
    loads without it)."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), str(Path(uri).resolve())
    return fs.FileSystem.from_uri(uri)


def stamp(uri: str) -> str | None:
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

    found_fs, path = filesystem(uri)
    info = found_fs.get_file_info(path)
    return f"{info.size}-{info.mtime_ns}" if info.type == fs.FileType.File else None
