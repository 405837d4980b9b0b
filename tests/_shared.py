"""The shared data folder ($QHYBRID_DATA, else ../shared/data next to the project) for tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from qhybrid.data import DATA_ENV


def _shared_data() -> Path | None:
    candidates = [os.environ.get(DATA_ENV), Path(__file__).resolve().parents[1].parent / "shared" / "data"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return None


SHARED = _shared_data()


def need(*relpaths: str) -> Path:
    """The shared data folder, skipping the test unless it holds `relpaths`."""
    if SHARED is None:
        pytest.skip(f"no local data folder: set {DATA_ENV} or provide ../shared/data")
    missing = [r for r in relpaths if not (SHARED / r).is_file()]
    if missing:
        pytest.skip(f"local data folder {SHARED} lacks {missing}")
    return SHARED
