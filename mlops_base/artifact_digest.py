"""One digest of a model's artifact directory: recorded when training logs the model, checked by the
model server after every download, so bytes changed in the artifact store after registration
(a corrupt file, or a valid model substituted) are refused instead of served."""

from __future__ import annotations

import hashlib
from pathlib import Path

# the model version's tag (and the training run's) holding the digest
DIGEST_TAG = "mlops.model_sha256"


def directory_digest(root: Path) -> str:
    """sha256 over every file's relative path and content, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()
