"""Ledger fixtures: a witness in this process (its own SQLite database and key) registered as
one of the app's witnesses for the duration of a test."""

from __future__ import annotations

import pytest

from tests.ledger.support import InProcessWitness


@pytest.fixture
def witness(app, tmp_path) -> InProcessWitness:
    w = InProcessWitness(app, tmp_path / "witness")
    yield w
    w.unregister()
