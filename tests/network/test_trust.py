"""Every request to the hub is signed; bad signatures, stale timestamps, replayed nonces, unknown
and revoked labs are refused with their own code, and nothing is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from nacl.signing import SigningKey
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.network import hub, signing
from ballistics.network.models import HubRecord, SeenNonce

URL = "http://localhost/hub/v1/records"


def _record(record_id: int = 1, version: int = 1) -> dict:
    sig = np.zeros(256, np.float32)
    sig[0] = 1
    return {"record_id": record_id, "version": version, "reference": f"REF-{record_id:04d}",
            "algorithm_version": "cmc-test", "region": "breech_face", "calibre": "9mm Luger",
            "shared_with": ["*"], "scanned_at": "2026-11-01T10:00:00",
            "signature": signing.b64(sig.tobytes()), "features": signing.b64(b"features")}


def _post(client, key: SigningKey, key_id: str, body: dict, *, now=None, tamper=None):
    data = json.dumps(body).encode()
    headers = signing.sign("POST", URL, data, key_id=key_id, seed=bytes(key), now=now)
    if tamper:
        data = tamper(data)
    return client.post(URL, data=data, headers={**headers, "Content-Type": "application/json"})


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(HubRecord.id))),
                db.session.scalar(select(func.count(SeenNonce.id))),
                db.session.scalar(select(func.count(AuditEntry.id))))


def _refused(app, response, status: int, code: str, before) -> None:
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] == code, response.get_json()
    assert _counts(app) == before


def test_a_member_shares_and_every_bad_request_is_refused_writing_nothing(hub_app, member):
    code, key, key_id = member
    client = hub_app.test_client()
    first = _post(client, key, key_id, _record())
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["stored"] is True
    again = _post(client, key, key_id, _record())  # a retried delivery: same version
    assert again.status_code == 200 and again.get_json()["stored"] is False
    before = _counts(hub_app)

    # Replayed: the very same signed request sent twice.
    body = json.dumps(_record(2)).encode()
    headers = signing.sign("POST", URL, body, key_id=key_id, seed=bytes(key))
    sent = client.post(URL, data=body, headers={**headers, "Content-Type": "application/json"})
    assert sent.status_code == 200
    before = _counts(hub_app)
    replay = client.post(URL, data=body, headers={**headers, "Content-Type": "application/json"})
    _refused(hub_app, replay, 401, "replayed_nonce", before)

    _refused(hub_app, _post(client, key, key_id, _record(3),
                            tamper=lambda d: d.replace(b"REF-0003", b"REF-9999")),
             401, "bad_signature", before)
    stale = datetime.now(UTC) - timedelta(minutes=10)
    _refused(hub_app, _post(client, key, key_id, _record(4), now=stale), 401, "stale_request",
             before)
    stranger = SigningKey.generate()
    _refused(hub_app, _post(client, stranger, f"{code}:deadbeef", _record(5)), 401,
             "unknown_lab", before)
    unsigned = client.post(URL, json=_record(6))
    _refused(hub_app, unsigned, 401, "unsigned", before)

    with hub_app.app_context(), acting_as(None, None, "test"):
        hub.revoke(hub.member(code), "keys lost in a burglary")
        db.session.commit()
    before = _counts(hub_app)
    revoked = _post(client, key, key_id, _record(7))
    _refused(hub_app, revoked, 403, "revoked_lab", before)
    assert "keys lost" in revoked.get_json()["message"]


def test_a_rotated_key_is_retired(hub_app, member):
    code, old, old_id = member
    new = SigningKey.generate()
    with hub_app.app_context(), acting_as(None, None, "test"):
        new_id = hub.add_key(hub.member(code), bytes(new.verify_key)).key_id
        db.session.commit()
    client = hub_app.test_client()
    before = _counts(hub_app)
    _refused(hub_app, _post(client, old, old_id, _record(1)), 401, "retired_key", before)
    assert _post(client, new, new_id, _record(1)).status_code == 200


@pytest.mark.parametrize("path", ["/hub/v1/inbox", "/hub/v1/searches/1"])
def test_a_lab_node_has_no_hub_api(app, client, path):
    assert client.get(path).status_code == 404


def test_the_directory_lists_active_members_to_signed_members_only(hub_app, member):
    code, key, key_id = member
    other = SigningKey.generate()
    other_code = "D" + code[1:]
    with hub_app.app_context(), acting_as(None, None, "test"):
        hub.add_member(other_code, "Revoked soon", bytes(other.verify_key))
        db.session.commit()
    url = "http://localhost/hub/v1/labs"
    client = hub_app.test_client()

    def listed() -> dict:
        headers = signing.sign("GET", url, b"", key_id=key_id, seed=bytes(key))
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        return {lab["code"]: lab["name"] for lab in response.get_json()}

    assert listed()[code] == f"Lab {code}" and other_code in listed()
    with hub_app.app_context(), acting_as(None, None, "test"):
        hub.revoke(hub.member(other_code), "left the network")
        db.session.commit()
    assert other_code not in listed() and code in listed()
    before = _counts(hub_app)
    _refused(hub_app, client.get(url), 401, "unsigned", before)
    with hub_app.app_context(), acting_as(None, None, "test"):
        hub.revoke(hub.member(code), "keys lost")
        db.session.commit()
    before = _counts(hub_app)
    headers = signing.sign("GET", url, b"", key_id=key_id, seed=bytes(key))
    _refused(hub_app, client.get(url, headers=headers), 403, "revoked_lab", before)


def test_the_hubs_audit_log_names_the_member_lab_that_signed_the_request(hub_app, member):
    """What a signed request writes at the hub is on record as that lab's doing (its origin
    said "web:anonymous" for every lab's records, searches and leads alike)."""
    code, key, key_id = member
    response = _post(hub_app.test_client(), key, key_id, _record(record_id=77))
    assert response.status_code == 200, response.get_json()
    with hub_app.app_context():
        stored = db.session.scalar(select(HubRecord).where(HubRecord.owner_code == code))
        origins = set(db.session.scalars(select(AuditEntry.origin).where(
            AuditEntry.object_type == "hub_records", AuditEntry.object_id == str(stored.id))))
        db.session.remove()
    assert origins == {f"hub-api:{code}"}
