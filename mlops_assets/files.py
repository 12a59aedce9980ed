"""Files that other processes read while we write them: the lake, the landing zone, the server's state and log."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, durable: bool = False) -> Path:
    """Write beside ``path`` under a temporary name, then rename: a reader sees the old file or the new one, never half.

    ``durable`` syncs the file and its folder to disk, so the file also survives a power cut
    (the prediction log deletes its write-ahead copy only after that).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path
