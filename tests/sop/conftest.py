"""SOP test fixtures."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Each scenario makes a lab of seven users; production-strength argon2 would spend ~2.5 s
    of every test hashing passwords nobody types. Hashes still verify (parameters travel in the
    hash), only the cost differs."""
    monkeypatch.setattr("ballistics.auth.models._hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
