"""Who made a change is who the audit log names, even when one transaction acts for several
(a sweep that acts for each lab in turn, the demo's seed): the change is noted with its actor
when it is flushed, and a block of ``acting_as`` flushes its changes before it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ballistics.audit.models import AuditAction, AuditEntry
from ballistics.comparisons import scans
from ballistics.comparisons.models import Scan, ScanStatus
from ballistics.core.context import acting_as
from ballistics.evidence.models import Case
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from tests.comparisons.helpers import upload, x3p_bytes
from tests.support.web import Api


def _updates(object_type: str, object_id: int) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id),
        AuditEntry.action == AuditAction.UPDATE).order_by(AuditEntry.id)).all()


def test_each_change_is_recorded_as_its_actors_in_one_transaction(app, lab):
    tech, manager = lab.users["tech"], lab.users["manager"]
    with acting_as(tech.id, lab.lab.id, "test"):
        first = create_case(tech, submitting_agency="Police")
        second = create_case(tech, submitting_agency="Police")
    db.session.commit()
    # One transaction, two actors, committed by neither (as a task's single commit).
    with acting_as(tech.id, lab.lab.id, "task:one"):
        db.session.get(Case, first.id).notes = "by the technician"
    with acting_as(manager.id, lab.lab.id, "task:two"):
        db.session.get(Case, second.id).notes = "by the manager"
    db.session.commit()
    [by_tech] = _updates("cases", first.id)
    [by_manager] = _updates("cases", second.id)
    assert (by_tech.actor_id, by_tech.origin) == (tech.id, "task:one")
    assert (by_manager.actor_id, by_manager.origin) == (manager.id, "task:two")
    assert by_tech.after == {"notes": "by the technician"}


def test_a_block_that_raises_writes_nothing(app, lab):
    tech = lab.users["tech"]
    with acting_as(tech.id, lab.lab.id, "test"):
        case = create_case(tech, submitting_agency="Police")
    db.session.commit()
    with pytest.raises(RuntimeError), acting_as(tech.id, lab.lab.id, "task:broken"):
        db.session.get(Case, case.id).notes = "half done"
        raise RuntimeError("the task failed")
    db.session.rollback()
    assert db.session.get(Case, case.id).notes == ""
    assert _updates("cases", case.id) == []


def test_the_sweep_requeues_scans_as_the_sweep(app, client, lab):
    """The sweep acts for each scan's lab in turn and commits once, outside any of them: before,
    its changes were recorded as the anonymous "system"."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case")
    response = upload(client, lab.headers("examiner"), item["id"], x3p_bytes(5, 0))
    assert response.status_code == 201, response.get_json()
    scan = db.session.get(Scan, response.get_json()["id"])
    scan.status_changed_at -= timedelta(hours=2)  # queued two hours ago: its message lost
    db.session.commit()
    assert scans.sweep_stuck(3600)["scans_requeued"] == 1
    db.session.commit()
    assert db.session.get(Scan, scan.id).status == ScanStatus.QUEUED
    [entry] = _updates("scans", scan.id)[-1:]
    assert (entry.actor_id, entry.origin, entry.chain_key) == (
        None, "task:comparisons.sweep", lab.lab.id)
    assert entry.after["status_reason"].startswith("Queued again: no result within")
