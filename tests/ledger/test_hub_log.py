"""The hub's log: the network records (audit entries of no lab, chain 0: members and their keys,
shared records, searches, leads, exchanges) are sealed into the ledger log of the hub's staff lab
(``HUB_LEDGER_LAB``), checkpointed with that lab's key and cosigned by the witnesses, as a lab's
own entries are; a rewrite by the database owner contradicts the witnessed checkpoint.

The hub here is the shared test app with ``APP_ROLE=hub`` for the test (the hub's pages and
services read the role at request time), so every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from nacl.signing import SigningKey
from sqlalchemy import select

from ballistics.audit.models import AuditEntry
from ballistics.core.context import acting_as
from ballistics.extensions import db
from ballistics.ledger import checkpointing
from ballistics.ledger.models import LeafKind, LedgerCosignature, LedgerLeaf, LedgerLog
from ballistics.ledger.sealer import seal_all
from ballistics.ledger.verify import describe, verify_lab
from ballistics.network import hub
from ballistics.network.models import HubMember
from tests.ledger.support import rewrite_audit_entry_as_owner
from tests.support.web import Browser, unescape


@pytest.fixture
def hub_lab(app, lab, monkeypatch):
    """The test's lab as the hub's staff lab, whose log seals the network records."""
    monkeypatch.setitem(app.config, "APP_ROLE", "hub")
    monkeypatch.setitem(app.config, "HUB_LEDGER_LAB", lab.lab.code)
    return lab


def _add_member() -> list[int]:
    """A member lab registered at the hub (as the CLI does: no lab acts); its audit entries."""
    code = "M" + uuid.uuid4().hex[:6].upper()
    with acting_as(None, None, "test"):
        hub.add_member(code, f"Lab {code}", bytes(SigningKey.generate().verify_key))
        db.session.commit()
    member = db.session.scalar(select(HubMember).where(HubMember.code == code))
    entries = db.session.scalars(select(AuditEntry.id).where(
        AuditEntry.object_type == "hub_members", AuditEntry.object_id == str(member.id))
        .order_by(AuditEntry.id)).all()
    assert entries and all(db.session.get(AuditEntry, i).chain_key == 0 for i in entries)
    return list(entries)


def _leaf(entry_id: int) -> LedgerLeaf | None:
    return db.session.scalar(select(LedgerLeaf).where(LedgerLeaf.kind == LeafKind.AUDIT_ENTRY,
                                                      LedgerLeaf.source_id == entry_id))


def _checkpoint(lab_id: int) -> int:
    seal_all(lab_id)
    info = checkpointing.make_checkpoint(lab_id)
    assert all(o.ok for o in checkpointing.witness(lab_id, info))
    return info.size


def test_a_member_added_at_the_hub_is_sealed_in_the_hubs_log_and_witnessed(app, hub_lab,
                                                                           witness):
    lab_id = hub_lab.lab.id
    origin = witness.trust(lab_id)
    [entry, *_] = _add_member()

    seal_all(lab_id)
    leaf = _leaf(entry)
    assert leaf is not None and leaf.lab_id == lab_id
    size = _checkpoint(lab_id)
    assert size > leaf.position
    latest = checkpointing.latest(db.session, lab_id)
    assert db.session.scalar(select(LedgerCosignature).where(
        LedgerCosignature.checkpoint_id == latest.id)) is not None
    assert witness.service.history(origin)  # the witness keeps what it cosigned

    result = verify_lab(lab_id)
    assert result.ok, result.problems
    assert result.last_consistent == size and result.unsealed == 0
    assert "this log also seals the hub's network records (audit entries of no lab)" in \
        result.lines

    # `flask ledger verify` at the hub verifies this log without being told which lab
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 0, out.output
    assert f"log {origin}: " in out.output and "network records" in out.output


def test_network_records_stay_verified_in_a_log_the_hub_no_longer_names(app, hub_lab,
                                                                        lab_factory,
                                                                        monkeypatch):
    """HUB_LEDGER_LAB moved to another lab: the old log keeps (and verifies) what it sealed,
    the new one seals what comes next."""
    [old, *_] = _add_member()
    seal_all(hub_lab.lab.id)
    other = lab_factory()
    monkeypatch.setitem(app.config, "HUB_LEDGER_LAB", other.lab.code)
    [new, *_] = _add_member()
    seal_all(hub_lab.lab.id)
    seal_all(other.lab.id)
    assert _leaf(old).lab_id == hub_lab.lab.id and _leaf(new).lab_id == other.lab.id
    for lab_id in (hub_lab.lab.id, other.lab.id):
        result = verify_lab(lab_id)
        assert result.ok, result.problems


def test_a_lab_node_seals_no_entry_of_no_lab(app, lab):
    """At a lab node (the default role), entries of no lab stay in no log, as before."""
    [entry, *_] = _add_member()
    seal_all(lab.lab.id)
    assert _leaf(entry) is None


def test_owner_rewrite_of_a_network_record_contradicts_the_witnessed_checkpoint(app, hub_lab,
                                                                                witness):
    lab_id = hub_lab.lab.id
    witness.trust(lab_id)
    _add_member()
    s1 = _checkpoint(lab_id)
    entries = _add_member()
    s2 = _checkpoint(lab_id)
    first_after = db.session.get(LedgerLeaf, (lab_id, s1))
    assert first_after.kind == LeafKind.AUDIT_ENTRY and first_after.source_id in entries
    altered = db.session.get(AuditEntry, first_after.source_id)
    assert altered.chain_key == 0

    # the database owner renames the member in the entry and recomputes every hash
    rewrite_audit_entry_as_owner(altered.id, {**altered.after, "name": "Someone else"})
    db.session.expire_all()
    assert db.session.get(AuditEntry, altered.id).after["name"] == "Someone else"

    result = verify_lab(lab_id)
    assert not result.ok
    assert result.last_consistent == s1 and result.first_bad_position == s1
    assert result.first_bad_entry == describe(db.session, LeafKind.AUDIT_ENTRY, altered.id)
    assert result.first_bad_entry.startswith(f"audit entry {altered.id} (insert hub_members")
    assert any(f"entries {s1} to {s2 - 1} contradict the checkpoint of size {s2} witnessed by "
               "witness.test/w1" in p for p in result.problems), result.problems

    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1 and f"audit entry {altered.id}" in out.output

    # the hub's key refuses to sign the rewritten log, and the log keeps the alarm
    _add_member()
    seal_all(lab_id)
    with pytest.raises(checkpointing.LogMismatch, match=f"size {s2} does not match"):
        checkpointing.make_checkpoint(lab_id)
    db.session.expire_all()
    assert "rewritten" in db.session.get(LedgerLog, lab_id).alarm


def test_the_hubs_network_log_page_shows_its_ledger_in_english_and_spanish(app, hub_lab,
                                                                           witness):
    lab_id = hub_lab.lab.id
    witness.trust(lab_id)
    _add_member()
    size = _checkpoint(lab_id)
    operator = Browser(app, hub_lab, "manager")
    page = unescape(operator.get("/audit?log=network"))
    assert "the hub's network records" in page and "hub_members" in page
    assert 'data-testid="network-log-unsealed"' not in page
    assert 'data-testid="network-log-sealed"' in page
    assert (f"These records are sealed in the ledger log of the hub's staff lab "
            f"({hub_lab.lab.code}), beside that lab's own records") in page
    assert 'data-testid="chain-state"' in page and 'data-testid="verify-now"' in page
    assert "entries sealed" in page and f"Latest checkpoint: {size:,} entries" in page
    assert "A witness cosigned up to" in page
    # the staff's own tab shows the same log's card
    assert 'data-testid="chain-state"' in operator.get("/audit")

    spanish = unescape(operator.client.get("/audit?log=network",
                                           headers={"Accept-Language": "es"}).text)
    assert "los registros de red del nodo regional" in spanish
    assert (f"Estos registros quedan sellados en el registro del laboratorio del personal del "
            f"nodo regional ({hub_lab.lab.code})") in spanish
    assert "These records are sealed" not in spanish

    # "verify now" verifies the hub's log, network records included, and puts it on record
    operator.post("/audit/verify", {})
    page = unescape(operator.get("/audit?log=network"))
    assert 'data-chain="verified"' in page, page


def test_the_hubs_log_is_its_first_lab_unless_configured(app, lab, monkeypatch):
    """The staff lab a hub is set up with comes first; a code that names no lab seals nothing
    and the network tab says so."""
    from ballistics.auth.models import Lab
    from ballistics.ledger.hublog import hub_ledger_lab

    monkeypatch.setitem(app.config, "APP_ROLE", "hub")
    assert hub_ledger_lab() == db.session.scalar(select(Lab.id).order_by(Lab.id).limit(1))
    monkeypatch.setitem(app.config, "HUB_LEDGER_LAB", lab.lab.code)
    assert hub_ledger_lab() == lab.lab.id
    monkeypatch.setitem(app.config, "HUB_LEDGER_LAB", "NOSUCHLAB")
    assert hub_ledger_lab() is None
    page = Browser(app, lab, "manager").get("/audit?log=network")
    assert 'data-testid="network-log-unsealed"' in page
    assert 'data-testid="network-log-sealed"' not in page
