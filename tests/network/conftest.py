"""Network fixtures: a hub app (APP_ROLE=hub) on its own database, and members' keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from nacl.signing import SigningKey
from sqlalchemy import select

from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.network import hub
from ballistics.network.models import HubMember
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


@pytest.fixture
def hub_transport(hub_app, monkeypatch):
    """The nodes' hub client (:mod:`ballistics.network.client`, signing and all) talks to the
    in-process ``hub_app`` instead of a socket: each request goes through its test client at
    the same URL, so the hub checks the signature over the URL the node signed. Returns
    ``register``: ``register(code)`` (in the node's app context) makes the node's network key
    a member's; ``register(code, public_key=...)`` registers another lab."""
    import io
    import urllib.error
    import urllib.request

    from ballistics.network import client as hub_client

    web = hub_app.test_client()

    def urlopen(request, timeout=None):
        response = web.open(request.full_url, method=request.get_method(),
                            headers=dict(request.header_items()), data=request.data)
        if response.status_code >= 400:
            raise urllib.error.HTTPError(request.full_url, response.status_code, "refused",
                                         response.headers, io.BytesIO(response.data))
        return io.BytesIO(response.data)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    def register(code: str, *, public_key: bytes | None = None) -> None:
        public = public_key or hub_client.identity(code)[2]
        with hub_app.app_context(), acting_as(None, None, "test"):
            if db.session.scalar(select(HubMember).where(HubMember.code == code)) is None:
                hub.add_member(code, f"Laboratory {code}", public)
                db.session.commit()
            db.session.remove()

    register.hub_app = hub_app
    return register
