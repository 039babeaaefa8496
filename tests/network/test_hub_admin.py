"""The hub's administration (issue 12, items 2 and 5): key rotation and revocation from the
command line are audited; a lead nobody answers expires, both labs are told, and the hub's
dashboard keeps showing it as overdue."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from nacl.signing import SigningKey
from sqlalchemy import select

from ballistics.audit.models import AuditEntry
from ballistics.core.context import acting_as
from ballistics.core.errors import Conflict
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.network import dashboard, hub, signing
from ballistics.network.models import (
    EventKind,
    HubEvent,
    HubFeatureBlob,
    HubMemberKey,
    HubRecord,
    HubSearch,
    LeadStatus,
    MemberStatus,
    SearchState,
)
from tests.support.labs import make_lab
from tests.support.web import Browser


def _audit(origin: str, object_type: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.origin == origin, AuditEntry.object_type == object_type)
        .order_by(AuditEntry.id)))


def test_key_rotation_and_revocation_by_the_administrator_are_audited(hub_app, member):
    code, _, old_id = member
    runner = hub_app.test_cli_runner()
    new = SigningKey.generate()
    rotated = runner.invoke(args=["network", "add-key", code,
                                  signing.b64(bytes(new.verify_key))])
    assert rotated.exit_code == 0, rotated.output
    revoked = runner.invoke(args=["network", "revoke", code, "--reason", "keys lost"])
    assert revoked.exit_code == 0, revoked.output
    with hub_app.app_context():
        keys = {k.key_id: k for k in db.session.scalars(select(HubMemberKey).where(
            HubMemberKey.key_id.startswith(f"{code}:")))}
        new_id = hub.key_id_for(code, bytes(new.verify_key))
        assert keys[old_id].retired_at is not None and keys[new_id].retired_at is None
        added = [e for e in _audit("cli:network-add-key", "hub_member_keys")
                 if e.object_id in {str(keys[old_id].id), str(keys[new_id].id)}]
        assert {(e.action, e.object_id) for e in added} == {
            ("insert", str(keys[new_id].id)), ("update", str(keys[old_id].id))}
        member_id = str(hub.member(code).id)
        assert hub.member(code).status == MemberStatus.REVOKED
        [revocation] = [e for e in _audit("cli:network-revoke", "hub_members")
                        if e.object_id == member_id]
        assert revocation.action == "update" and revocation.after["status"] == "revoked"
        assert revocation.after["revoked_reason"] == "keys lost"
        db.session.remove()


def _candidate_for(requester: str, owner: str) -> tuple[HubSearch, HubRecord]:
    """A record of ``owner`` that came back in a finished search of ``requester``."""
    data = uuid.uuid4().bytes
    sha = hashlib.sha256(data).hexdigest()
    db.session.add(HubFeatureBlob(sha256=sha, data=data))
    record = HubRecord(owner_code=owner, record_id=1, reference=f"{owner}-REF", version=1,
                       algorithm_version="cmc-test", region="breech_face", shared_with=["*"],
                       signature=b"", features_sha256=sha, scanned_at=utcnow())
    db.session.add(record)
    db.session.flush()
    search = HubSearch(requester_code=requester, request_ref=1, algorithm_version="cmc-test",
                       region="breech_face", k=10, signature=b"", features=b"",
                       status=SearchState.DONE, candidates=[{
                           "record": record.id, "owner": owner, "reference": record.reference,
                           "score": 0.8, "likelihood_ratio": 40.0}])
    db.session.add(search)
    db.session.flush()
    return search, record


def test_an_unanswered_lead_expires_and_stays_overdue_on_the_dashboard(hub_app, member):
    owner = member[0]
    requester = "Q" + uuid.uuid4().hex[:6].upper()
    with hub_app.app_context(), acting_as(None, None, "test"):
        asking = hub.add_member(requester, "Asking lab", bytes(SigningKey.generate().verify_key))
        search, record = _candidate_for(requester, owner)
        lead, _ = hub.create_lead(asking, {"request_ref": 1, "search_id": search.id,
                                           "record": record.id, "note": "Same pistol?"})
        assert lead.due_at - lead.created_at == timedelta(hours=48)
        db.session.commit()
        assert hub.expire_leads(now=lead.due_at - timedelta(minutes=1)) == 0

        lead.due_at = utcnow() - timedelta(minutes=5)  # nobody answered in time
        db.session.commit()
        assert lead.id in {x.id for x in dashboard.build().overdue}
        assert hub.expire_leads() >= 1
        db.session.commit()
        assert lead.status == LeadStatus.EXPIRED
        told = db.session.scalars(select(HubEvent.member_code).where(
            HubEvent.kind == EventKind.EXPIRED)).all()
        assert {owner, requester} <= set(told)
        with pytest.raises(Conflict):  # too late to answer
            hub.answer_lead(hub.member(owner), lead.id, "disclosed", "our case 12")
        db.session.rollback()

        # Expired is how the hub records it; it is still a lead nobody answered in time.
        assert lead.id in {x.id for x in dashboard.build().overdue}
        staff = make_lab(code="HUBADM" + owner[-3:])
        page = Browser(hub_app, staff, "manager").get("/hub")
        assert f"lead {lead.id}: {requester} asked {owner} about" in page
        assert "· expired" in page
        db.session.remove()
