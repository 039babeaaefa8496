"""The regional network end to end: a hub and two lab nodes as separate process groups talking
HTTP on loopback, each with its own PostgreSQL database and Celery worker."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import JSON, String, Text, func, select

from ballistics.audit.models import AuditEntry
from ballistics.core.wording import english
from ballistics.extensions import db
from ballistics.network.models import HubRecord, PartnerSearch
from tests.comparisons.helpers import wait_for, x3p_bytes
from tests.network.cluster import Group, cluster

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


def _scan(group: Group, firearm: int, firing: int, *, offence: str = "Trafficking",
          data: bytes | None = None) -> dict:
    """A case with one cartridge case and its scan, features done."""
    case = group.api("POST", "/cases", "tech", 201, json={
        "submitting_agency": "Border Police", "agency_case_number": f"BP-{firearm}-{firing}",
        "offence": offence})
    item = group.api("POST", f"/cases/{case['id']}/items", "tech", 201, json={
        "kind": "cartridge_case", "from_agency": "Border Police", "calibre": "9mm Luger",
        "description": f"Casing {firearm}/{firing} found at the crossing"})
    scan = requests.post(f"{group.url}/api/v1/items/{item['id']}/scans",
                         headers=group.kit.headers("examiner"), timeout=60,
                         data={"calibre": "9mm Luger"},
                         files={"file": ("scan.x3p", data or x3p_bytes(firearm, firing))}).json()
    return wait_for(lambda: group.api("GET", f"/scans/{scan['id']}"),
                    lambda s: s["status"] in ("done", "failed"))


def _hub_records(hub: Group, owner: str) -> list[HubRecord]:
    with hub.app.app_context():
        rows = db.session.scalars(select(HubRecord).where(HubRecord.owner_code == owner)).all()
        db.session.remove()
    return rows


def _audited(group: Group, object_type: str) -> int:
    with group.app.app_context():
        count = db.session.scalar(select(func.count(AuditEntry.id)).where(
            AuditEntry.object_type == object_type))
        db.session.remove()
    return count


NAMES = ("Tamsin Okonkwo-Reyes", "Ilse Varga-Moreau", "Duarte Nkemelu")


def test_partner_search_lead_and_disclosure_across_three_process_groups(tmp_path):
    with cluster(tmp_path) as net:
        hub, lab_a, lab_b = net["HUB"], net["LABA"], net["LABB"]
        with lab_a.app.app_context():
            for user, name in zip(lab_a.kit.users.values(), NAMES * 3, strict=False):
                db.session.merge(user).full_name = name
            db.session.commit()
            db.session.remove()
        mates = [_scan(lab_a, 41, shot) for shot in (0, 1)]
        others = [_scan(lab_a, gun, 0) for gun in (42, 43)]
        assert all(s["status"] == "done" for s in mates + others)
        lab_a.api("PUT", "/network/policy", "manager", json={"mode": "all"})
        wait_for(lambda: _hub_records(hub, "LABA"), lambda rows: len(rows) == 4)

        query = _scan(lab_b, 41, 2)
        search = lab_b.api("POST", f"/scans/{query['id']}/partner-searches", "examiner", 202,
                           json={"k": 10})
        done = wait_for(lambda: lab_b.api("GET", f"/partner-searches/{search['id']}"),
                        lambda s: s["status"] in ("done", "failed"))
        assert done["status"] == "done", done
        top = done["candidates"][:2]
        mine = {r.reference for r in _hub_records(hub, "LABA") if r.record_id in
                {m["id"] for m in mates}}
        assert {c["reference"] for c in top} == mine and {c["owner"] for c in top} == {"LABA"}
        # The hub answers the owner's code, the opaque reference and the scores, never more.
        assert set(top[0]) <= {"record", "owner", "reference", "calibre", "score", "cmc_count",
                               "signature_similarity", "likelihood_ratio", "lr_note", "rank"}
        # Raw synthetic scans: no LR, and the hub sent why in English with its wording (kept
        # for the lab's pages, said in the reader's language; not in the node's API).
        with lab_b.app.app_context():
            stored = db.session.get(PartnerSearch, search["id"]).candidates[0]
            db.session.remove()
        assert stored["likelihood_ratio"] is None and "raw scan" in stored["lr_note"]
        assert english(stored["lr_wording"]) == stored["lr_note"] == done["candidates"][0][
            "lr_note"]

        lead = lab_b.api("POST", f"/partner-searches/{search['id']}/leads", "examiner", 201,
                         json={"record": top[0]["record"], "note": "Same pistol?"})
        assert lead["direction"] == "outgoing" and lead["status"] == "open"
        lab_b.task("network.deliver")
        lab_a.task("network.pull")
        incoming = [x for x in lab_a.api("GET", "/network/leads") if x["direction"] == "incoming"]
        assert len(incoming) == 1 and incoming[0]["partner_code"] == "LABB"
        assert incoming[0]["scan_id"] in {m["id"] for m in mates}
        lab_a.api("POST", f"/network/leads/{incoming[0]['id']}/answer", "examiner", json={
            "status": "disclosed", "answer": f"Contact {NAMES[1]}; our case BP-41-0"})
        lab_a.task("network.deliver")
        lab_b.task("network.pull")
        answered = wait_for(lambda: lab_b.api("GET", "/network/leads"),
                            lambda leads: leads[0]["status"] != "open")
        assert answered[0]["status"] == "disclosed" and "BP-41-0" in answered[0]["answer"]

        # Who looked: lab A's manager sees lab B's search and lead; all three logs have them.
        looked = lab_a.api("GET", "/network/accesses", "manager")
        assert {(a["kind"], a["partner_code"]) for a in looked} == {("search", "LABB"),
                                                                      ("lead", "LABB")}
        assert _audited(lab_b, "partner_searches") >= 1
        assert _audited(lab_a, "network_accesses") == 2
        assert _audited(hub, "hub_searches") >= 1 and _audited(hub, "hub_leads") >= 1
        with hub.app.app_context():  # the hub's dashboard counts it
            from ballistics.network import dashboard
            dash = dashboard.build()
            rows = {r.member.code: r for r in dash.members}
            assert (rows["LABA"].shared, rows["LABB"].leads_asked, rows["LABA"].leads_received
                    ) == (4, 1, 1)
            assert dash.leads_by_status["disclosed"] == 1 and dash.lead_to_answer[0] < 1
            db.session.remove()

        # Sharing only with a third lab makes lab A invisible to lab B.
        lab_a.api("PUT", "/network/policy", "manager", json={"mode": "named",
                                                              "partners": ["LABC"]})
        wait_for(lambda: _hub_records(hub, "LABA"),
                 lambda rows: all(r.shared_with == ["LABC"] for r in rows))
        again = lab_b.api("POST", f"/scans/{query['id']}/partner-searches", "examiner", 202)
        hidden = wait_for(lambda: lab_b.api("GET", f"/partner-searches/{again['id']}"),
                          lambda s: s["status"] in ("done", "failed"))
        assert hidden["status"] == "done"
        assert not [c for c in hidden["candidates"] if c["owner"] == "LABA"]

        # Data minimisation: no case number, description, offence or name of lab A at the hub,
        # except what lab A's examiner chose to disclose.
        with lab_a.app.app_context():
            from ballistics.evidence.models import Case, Item
            seeded = set(db.session.scalars(select(Case.lab_case_number)))
            seeded |= set(db.session.scalars(select(Case.agency_case_number)))
            seeded |= set(db.session.scalars(select(Item.description)))
            db.session.remove()
        seeded |= set(NAMES)
        disclosure = answered[0]["answer"]
        with hub.app.app_context():
            for table in db.metadata.sorted_tables:
                texts = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
                for row in db.session.execute(select(*texts)) if texts else []:
                    for value in row:
                        text = str(value or "").replace(disclosure, "")
                        assert not any(s in text for s in seeded), (table.name, value)
            db.session.remove()


def test_hub_down_nothing_lost_everything_once_in_order(tmp_path):
    # Retries of a moment (0.2 s doubling, 5 times): a partner search that failed after its
    # task's retries is seen failed within seconds, not after a minute.
    with cluster(tmp_path, labs=("LABA",), TASK_RETRY_DELAY=0.2) as net:
        hub, lab_a = net["HUB"], net["LABA"]
        data = x3p_bytes(44, 0)
        scans = [_scan(lab_a, 44, 0, data=data) for _ in range(20)]
        hub.stop_web()
        # A partner search asked while the hub is away waits for it (it failed once the task's
        # retries were spent, so a hub restart lost the examiner's request).
        search = lab_a.api("POST", f"/scans/{scans[-1]['id']}/partner-searches", "examiner",
                           202, json={})
        time.sleep(10)  # past the retries of a moment (about 6 s)
        assert lab_a.api("GET", f"/partner-searches/{search['id']}")["status"] == "queued"
        lab_a.api("PUT", "/network/policy", "manager", json={"mode": "all"})
        for scan in scans[:2]:
            lab_a.api("POST", f"/scans/{scan['id']}/share/withdraw", "manager", 202, json={
                "reason": "sealed by the prosecutor"})
        lab_a.task("network.deliver")  # the hub is away: everything waits, nothing is lost
        with lab_a.app.app_context():
            from ballistics.outbox.models import OutboxMessage, Topic
            pending = db.session.scalar(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.topic == Topic.HUB, OutboxMessage.sent_at.is_(None)))
            db.session.remove()
        assert pending == 22
        hub.start_web()
        wait_for(lambda: (lab_a.task("network.deliver"), _hub_records(hub, "LABA"))[1],
                 lambda rows: sum(r.withdrawn_at is not None for r in rows) == 2,
                 timeout=180, interval=2)
        rows = _hub_records(hub, "LABA")
        assert len(rows) == 20 and len({r.record_id for r in rows}) == 20
        withdrawn = {r.record_id for r in rows if r.withdrawn_at is not None}
        assert withdrawn == {s["id"] for s in scans[:2]}
        assert all(r.version == (2 if r.record_id in withdrawn else 1) for r in rows)
        # the waiting search went once the hub was back (its own lab's records are not its
        # candidates: done, none)
        done = wait_for(lambda: lab_a.api("GET", f"/partner-searches/{search['id']}"),
                        lambda x: x["status"] in ("done", "failed"), timeout=120, interval=2)
        assert (done["status"], done["error"]) == ("done", "")
        with hub.app.app_context():  # each record arrived once: one insert audited per record
            inserts = db.session.scalar(select(func.count(AuditEntry.id)).where(
                AuditEntry.object_type == "hub_records", AuditEntry.action == "insert"))
            db.session.remove()
        assert inserts == 20
