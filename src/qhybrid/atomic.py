"""Atomic file writes: a temp file in the same folder, flushed to disk, then renamed over the target.

    atomic_write(path, write)    write(tmp_path) fills the temp file; readers see the old file or the new one
    atomic_text(path, text)      the same for a string (UTF-8)

A leaf: it imports nothing of qhybrid, so every wing (data/ included) writes its files through it.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: str | os.PathLike, write) -> None:
    """Write via a temp file in the same folder, then rename: readers never see a partial file.
    When `write` fails, the old file (if any) stays as it was and the temp file is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{secrets.token_hex(4)}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:                      # on disk before the rename makes it visible
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"))
