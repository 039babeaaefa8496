"""Content-addressed image store: each file lives once, under its SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def root() -> Path:
    return Path(current_app.config["IMAGE_STORE"])


def path_for(sha256: str) -> Path:
    return root() / sha256[:2] / sha256[2:4] / sha256


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(data: bytes) -> tuple[str, Path, bool]:
    """Store bytes; return (sha256, path, created). Written atomically (temp file + rename)."""
    sha = digest(data)
    target = path_for(sha)
    if target.exists():
        return sha, target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha, target, True


def read(sha256: str) -> bytes:
    data = path_for(sha256).read_bytes()
    if digest(data) != sha256:
        raise OSError(f"stored file {sha256} does not match its hash")
    return data
