"""Shared fixtures: real databases built by the migrations, one lab per test for isolation.

Helpers live in :mod:`tests.support`; this file only declares fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

# Cheaper argon2id for the many test accounts (same algorithm, lower cost); set before import.
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_KIB", "8192")

import pytest
from flask import Flask

from ballistics.extensions import db
from tests.support.labs import LabKit, make_lab
from tests.support.services import create_pg_database, drop_pg_database, migrated_app


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory) -> Flask:
    instance = tmp_path_factory.mktemp("sqlite-instance")
    return migrated_app(f"sqlite:///{instance / 'test.sqlite'}", instance)


@pytest.fixture(scope="session")
def pg_app(pg_url, tmp_path_factory) -> Flask:
    return migrated_app(pg_url, tmp_path_factory.mktemp("pg-instance"))


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request) -> Iterator[Flask]:
    """Runs the test once per backend: the embedded default and production's PostgreSQL.

    The test body gets an app context of its own for setting records up through the services;
    requests of the test client never share it (:class:`tests.support.client.RequestClient`).
    """
    flask_app = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}"
                                        "_app")
    with flask_app.app_context():
        yield flask_app
        db.session.remove()


@pytest.fixture
def lab_factory(app) -> Callable[..., LabKit]:
    """Make as many fresh labs as a test needs."""
    return make_lab


@pytest.fixture
def lab(lab_factory) -> LabKit:
    return lab_factory()


@pytest.fixture
def other_lab(lab_factory) -> LabKit:
    return lab_factory()


@pytest.fixture
def client(app):
    return app.test_client()
