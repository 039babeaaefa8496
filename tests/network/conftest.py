"""Network fixtures: a hub app (APP_ROLE=hub) on its own database, and members' keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from nacl.signing import SigningKey

from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.network import hub
from tests.support.services import create_pg_database, drop_pg_database, migrated_app


@pytest.fixture(scope="session")
def hub_app(tmp_path_factory) -> Iterator[Flask]:
    url = create_pg_database("ballistics_hub")
    app = migrated_app(url, tmp_path_factory.mktemp("hub"), APP_ROLE="hub")
    yield app
    with app.app_context():
        db.engine.dispose()
    drop_pg_database(url)


@pytest.fixture
def member(hub_app):
    """Register a fresh member lab at the hub; yields (code, signing key, key id)."""
    import uuid

    code = "M" + uuid.uuid4().hex[:6].upper()
    key = SigningKey.generate()
    with hub_app.app_context(), acting_as(None, None, "test"):
        registered = hub.add_member(code, f"Lab {code}", bytes(key.verify_key))
        key_id = registered.keys[-1].key_id
        db.session.commit()
    return code, key, key_id
