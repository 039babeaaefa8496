"""A lab's sharing policy at its node (issue 12, item 3): rules on the case select what is
shared, a named audience goes with every record, and a sealed case is excluded whatever the
rules say, its already shared records withdrawn. Each change is a versioned message to the hub,
written in the same transaction (the hub itself is not needed)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sqlalchemy import func, select

from ballistics import imaging
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus
from ballistics.core.context import acting_as
from ballistics.core.errors import Forbidden
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from ballistics.network import node
from ballistics.network.models import SharedScan
from ballistics.outbox.models import OutboxMessage, Topic
from tests.support.labs import make_lab
from tests.support.services import migrated_app

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("network-sharing")


@pytest.fixture(scope="module")
def node_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("sharing")
    return migrated_app(f"sqlite:///{instance / 'node.sqlite'}", instance,
                        NETWORK_HUB_URL="http://127.0.0.1:9", NETWORK_LAB="SHARE")


def _scan(kit, seq: int, offence: str, agency: str) -> tuple[Case, int]:
    """A case with one cartridge case and its done scan (features of the current version)."""
    user = kit.users["examiner"]
    data = f"features {seq}".encode()
    sha = hashlib.sha256(data).hexdigest()
    db.session.add(FeatureSet(sha256=sha, algorithm_version=imaging.ALGORITHM_VERSION,
                              signature=np.ones(256, np.float32).tobytes(), data=data))
    case = Case(lab_id=kit.lab.id, year=2026, seq=seq, lab_case_number=f"SHARE-26-{seq}",
                submitting_agency=agency, offence=offence, created_by_id=user.id)
    db.session.add(case)
    db.session.flush()
    item = Item(lab_id=kit.lab.id, case_id=case.id, number="1", barcode=f"SHARE-26-{seq}/1",
                kind="cartridge_case", calibre="9mm Luger", holder_user_id=user.id)
    db.session.add(item)
    db.session.flush()
    scan = Scan(lab_id=kit.lab.id, item_id=item.id, sha256=sha, filename="s.x3p",
                file_format="x3p", size_bytes=1, width=1, height=1, pixel_um=6.25,
                calibre="9mm Luger", status=ScanStatus.DONE, uploaded_by_id=user.id)
    db.session.add(scan)
    db.session.flush()
    return case, scan.id


def _hub_messages() -> list[tuple[str, int, int]]:
    return [(m.name, m.payload["scan"], m.payload["version"]) for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == Topic.HUB)
        .order_by(OutboxMessage.id))]


def test_rules_audience_and_a_sealed_case_decide_what_leaves_the_lab(node_app):
    with node_app.app_context():
        kit = make_lab(code="SHARE")
        manager = kit.users["manager"]
        with acting_as(manager.id, kit.lab.id, "test"):
            trafficking, s1 = _scan(kit, 1, "Arms trafficking", "City Police")
            _, s2 = _scan(kit, 2, "Burglary", "Border Police")
            _, s3 = _scan(kit, 3, "Burglary", "City Police")
            db.session.commit()

            with pytest.raises(Forbidden):  # an examiner does not decide what the lab shares
                node.set_policy(kit.users["examiner"], mode="all", partners=[],
                                offence_contains=[], agency_contains=[])
            db.session.rollback()
            assert _hub_messages() == []

            node.set_policy(manager, mode="named", partners=["LABC"],
                            offence_contains=["TRAFFICKING"], agency_contains=["border"])
            db.session.commit()
            # Either rule selects (case-insensitive); the burglary for the city police stays.
            assert _hub_messages() == [("record.publish", s1, 1), ("record.publish", s2, 1)]
            shared = {s.scan_id: s for s in db.session.scalars(select(SharedScan))}
            assert set(shared) == {s1, s2}
            assert all(s.shared_with == ["LABC"] for s in shared.values())
            assert s3 not in node.desired_shares(kit.lab.id)

            # A sealed investigation: its shared record is withdrawn (a new version), and it
            # stays out even when the rules would take every case.
            node.exclude_case(manager, trafficking, "sealed by the investigating judge")
            db.session.commit()
            assert _hub_messages()[2:] == [("record.withdraw", s1, 2)]
            node.set_policy(manager, mode="all", partners=[], offence_contains=[],
                            agency_contains=[])
            db.session.commit()
            assert _hub_messages()[3:] == [("record.publish", s2, 2), ("record.publish", s3, 1)]
            assert set(node.desired_shares(kit.lab.id)) == {s2, s3}
            db.session.expire_all()
            assert db.session.scalar(select(SharedScan).where(SharedScan.scan_id == s1)
                                     ).is_withdrawn

            # Sharing nothing withdraws what is out there, each once.
            node.set_policy(manager, mode="none", partners=[], offence_contains=[],
                            agency_contains=[])
            db.session.commit()
            assert _hub_messages()[5:] == [("record.withdraw", s2, 3), ("record.withdraw", s3, 2)]
        db.session.remove()


def test_an_exclusion_lifted_shares_again_and_stays_on_record(node_app, monkeypatch):
    """The judge lifts the seal: the manager lifts the case's exclusion and its record goes back
    to the hub (a new version); the exclusion stays, lifted, with who, when and why. A withdrawn
    record is lifted the same way. Refused, and nothing written: an examiner, a second lift, a
    second exclusion of a case already excluded."""
    from ballistics.core.errors import Conflict
    from ballistics.network.models import ShareExclusion

    with node_app.app_context():
        kit = make_lab(code="LIFT")
        monkeypatch.setitem(node_app.config, "NETWORK_LAB", "LIFT")
        manager = kit.users["manager"]
        with acting_as(manager.id, kit.lab.id, "test"):
            sealed, s1 = _scan(kit, 11, "Homicide", "City Police")
            _, s2 = _scan(kit, 12, "Burglary", "City Police")
            node.set_policy(manager, mode="all", partners=[], offence_contains=[],
                            agency_contains=[])
            exclusion = node.exclude_case(manager, sealed, "sealed by the investigating judge")
            withdrawal = node.withdraw_scan(manager, db.session.get(Scan, s2), "wrong item")
            db.session.commit()
            start = len(_hub_messages())
            assert set(node.desired_shares(kit.lab.id)) == set()

            with pytest.raises(Conflict) as refused:
                node.exclude_case(manager, sealed, "again")
            assert refused.value.fields == {"case_id": ["Already excluded."]}
            with pytest.raises(Forbidden):
                node.lift_exclusion(kit.users["examiner"], exclusion, "the seal was lifted")
            db.session.rollback()
            assert db.session.get(ShareExclusion, exclusion.id).lifted_at is None

            node.lift_exclusion(manager, exclusion, "the judge lifted the seal")
            db.session.commit()
            assert _hub_messages()[start:] == [("record.publish", s1, 3)]
            assert set(node.desired_shares(kit.lab.id)) == {s1}
            lifted = db.session.get(ShareExclusion, exclusion.id)
            assert (lifted.lifted_by_id, lifted.lift_reason) == (manager.id,
                                                                 "the judge lifted the seal")
            assert lifted.lifted_at is not None and not lifted.is_active
            with pytest.raises(Conflict):
                node.lift_exclusion(manager, lifted, "twice")
            db.session.rollback()

            scan_exclusion = db.session.scalars(select(ShareExclusion).where(
                ShareExclusion.scan_id == s2)).one()
            assert withdrawal.is_withdrawn
            node.lift_exclusion(manager, scan_exclusion, "withdrawn by mistake")
            db.session.commit()
            assert _hub_messages()[start + 1:] == [("record.publish", s2, 3)]
            # excluded again after the lift: a new exclusion, the lifted one kept
            node.exclude_case(manager, sealed, "sealed again")
            db.session.commit()
            assert _hub_messages()[start + 2:] == [("record.withdraw", s1, 4)]
            assert db.session.scalar(select(func.count(ShareExclusion.id)).where(
                ShareExclusion.case_id == sealed.id)) == 2
        db.session.remove()


def _celery_asks() -> list[str]:
    return [m.name for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == Topic.CELERY)
        .order_by(OutboxMessage.id))]


def test_a_scan_is_shared_when_its_features_are_ready_not_at_the_next_sync(node_app):
    """The lab shares everything; a scan uploaded after is offered to the hub as its features
    are stored: a sync is asked for in that transaction (beat's, every five minutes, is only
    the safety net)."""
    from ballistics.comparisons.scans import upload_scan
    from ballistics.comparisons.tasks import extract_features
    from ballistics.evidence import custody
    from ballistics.evidence.services import create_case
    from ballistics.imaging import synthetic, write_x3p
    from ballistics.network.tasks import sync

    with node_app.app_context():
        kit = make_lab(code="SHARE2")
        node_app.config["NETWORK_LAB"] = "SHARE2"
        manager, tech = kit.users["manager"], kit.users["tech"]
        try:
            with acting_as(manager.id, kit.lab.id, "test"):
                node.set_policy(manager, mode="all", partners=[], offence_contains=[],
                                agency_contains=[])
            with acting_as(tech.id, kit.lab.id, "test"):
                case = create_case(tech, submitting_agency="City Police")
                item = custody.receive(tech, case, kind="cartridge_case", calibre="9mm Luger",
                                       from_agency="City Police")
                scan, _ = upload_scan(tech, item, data=write_x3p(synthetic.fire(
                    synthetic.make_firearm(5), 1)), filename="c.x3p", calibre="9mm Luger")
            db.session.commit()
            scan_id = scan.id
            assert "network.sync" not in _celery_asks()
            assert extract_features(scan_id) == "done"
            assert _celery_asks().count("network.sync") == 1
            assert sync()["published"] == 1
            shared = db.session.scalar(select(SharedScan).where(SharedScan.scan_id == scan_id))
            assert shared.shared_with == ["*"]
            assert ("record.publish", scan_id, 1) in _hub_messages()
        finally:
            node_app.config["NETWORK_LAB"] = "SHARE"
            db.session.remove()


def test_a_lab_without_a_hub_asks_for_no_sync(app, lab):
    from ballistics.comparisons.scans import features_ready

    with acting_as(lab.users["tech"].id, lab.lab.id, "test"):
        features_ready.send(object())
    assert "network.sync" not in _celery_asks()
