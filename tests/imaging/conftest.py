"""Fixtures for the imaging tests: repository root on sys.path, shared validation data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA_DIR = REPO.parent / "shared" / "data" / "cartridge_scans"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data/cartridge_scans``: fail in CI if missing, skip locally."""
    if not (DATA_DIR / "manifest.csv").is_file():
        msg = f"validation scans not found at {DATA_DIR}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (required in CI)")
        pytest.skip(msg)
    return DATA_DIR
