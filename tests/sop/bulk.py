"""Bulk-seed a lab with a realistic year of examinations (for the benchmark and the browser
test). Rows go in with bulk INSERTs: this is test data, so it skips the services (and their
audit) to build 20,000 examinations in seconds. A few percent of the examinations break one
rule each, so the dashboard has findings to show."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, update

from ballistics.auth.models import User, UserRole
from ballistics.core import timeutil
from ballistics.core.context import acting_as
from ballistics.evidence.models import Case, CustodyEvent, Item
from ballistics.extensions import db
from sop.models import (
    Authorisation,
    CalibrationRecord,
    CompetencyAssessment,
    Equipment,
    Examination,
    ExaminationEquipment,
    ExaminationItem,
    ExaminationReview,
    ProficiencyTest,
    SopAcknowledgement,
    SopVersion,
    StepRecord,
)
from sop.services.library import effective_versions, load_library
from tests.support.labs import LabKit

CASEWORK = ("FA-03", "FA-04", "FA-05", "FA-06", "FA-07", "FA-09")


@dataclass
class Seeded:
    examiners: list[int]
    examinations: int


def _bulk(model, rows: list[dict]) -> list[int]:
    """Insert rows and return their ids in order."""
    if not rows:
        return []
    return list(db.session.scalars(insert(model).returning(model.id,
                                                           sort_by_parameter_order=True), rows))


def _bulk_plain(model, rows: list[dict]) -> None:
    """Core executemany for rows whose ids nobody needs. (The ORM's bulk insert would split the
    batch wherever a value is None, e.g. steps without a measured value.)"""
    if rows:
        db.session.execute(model.__table__.insert(), rows)


def seed(kit: LabKit, *, examiners: int, examinations: int, days: int = 365,
         seed_value: int = 7, broken_share: float = 0.06) -> Seeded:
    rnd = random.Random(seed_value)
    lab_id = kit.lab.id
    now = timeutil.utcnow().replace(microsecond=0)
    start = now - timedelta(days=days)
    manager = kit.users["manager"]
    with acting_as(manager.id, lab_id, "seed"):
        load_library(kit.lab, manager)
    versions = effective_versions(lab_id)
    # History: the library versions were in force for the whole period.
    db.session.execute(update(SopVersion).where(SopVersion.lab_id == lab_id)
                       .values(effective_from=(start - timedelta(days=60)).date()))
    casework = [versions[c] for c in CASEWORK]
    steps = {v.id: [(s.id, s.is_value_required, s.min_value, s.max_value) for s in v.steps]
             for v in casework}

    pw = kit.users["examiner"].password_hash
    ex_ids = _bulk(User, [{"lab_id": lab_id, "username": f"ex{i:03d}-{kit.lab.code.lower()}",
                           "full_name": f"Examiner {i:03d}", "password_hash": pw,
                           "is_active_account": True, "created_at": start}
                          for i in range(examiners)])
    db.session.execute(insert(UserRole), [{"user_id": u, "role": r} for u in ex_ids
                                          for r in ("examiner", "technical_reviewer")])
    day0 = start.date()
    auth_rows, comp_rows, pt_rows, ack_rows = [], [], [], []
    for n, uid in enumerate(ex_ids):
        for v in casework:
            # One examiner's FA-06 authorisation lapses mid-year without renewal.
            expires = day0 + timedelta(days=200 if (n == 3 and v.sop.code == "FA-06") else 800)
            if n in (1, 2) and v.sop.code == "FA-09":
                expires = now.date() + timedelta(days=9 * n)  # renewals coming up
            auth_rows.append({"lab_id": lab_id, "user_id": uid, "sop_id": v.sop_id,
                              "starts_on": day0 - timedelta(days=30), "expires_on": expires,
                              "granted_by_id": manager.id, "granted_at": start})
            if n != 5:  # one examiner never acknowledged the versions
                ack_rows.append({"lab_id": lab_id, "version_id": v.id, "user_id": uid,
                                 "acknowledged_at": start - timedelta(days=20)})
        for k in range(2):
            comp_rows.append({"lab_id": lab_id, "user_id": uid,
                              "assessed_on": day0 + timedelta(days=-10 + 180 * k),
                              "status": "completed", "supervisor_id": manager.id,
                              "is_competent": True,
                              "valid_until": day0 + timedelta(days=355 + 180 * k)})
            pt_rows.append({"lab_id": lab_id, "user_id": uid, "provider": "CTS",
                            "test_ref": f"{2025 + k}-527{k}", "is_satisfactory": n != 7 or k == 0,
                            "taken_on": day0 + timedelta(days=-30 + 200 * k),
                            "recorded_by_id": manager.id})
    _bulk_plain(Authorisation, auth_rows)
    _bulk_plain(CompetencyAssessment, comp_rows)
    _bulk_plain(ProficiencyTest, pt_rows)
    _bulk_plain(SopAcknowledgement, ack_rows)

    kinds = ["comparison_microscope"] * 4 + ["stereo_microscope"] * 3 + ["imaging_station"] * 2 \
        + ["test_fire_tank"]
    eq_ids = _bulk(Equipment, [{"lab_id": lab_id, "code": f"EQ-{i:02d}", "name": k.replace(
        "_", " ").capitalize(), "kind": k, "created_at": start} for i, k in enumerate(kinds)])
    cal_rows = []
    for i, eq in enumerate(eq_ids):
        performed, k = day0 - timedelta(days=20), 0
        while performed <= now.date():
            # EQ-02's first calibration ran out 40 days before the next one was done.
            due = performed + timedelta(days=140 if (i == 2 and k == 0) else 180)
            if i < 3 and performed + timedelta(days=180) > now.date():
                due = now.date() + timedelta(days=6 + 9 * i)  # due within the next 30 days
            cal_rows.append({"lab_id": lab_id, "equipment_id": eq, "kind": "calibration",
                             "performed_on": performed, "due_on": due, "is_passed": True,
                             "performed_by": "MetroCal", "recorded_by_id": manager.id})
            performed, k = performed + timedelta(days=180), k + 1
    _bulk_plain(CalibrationRecord, cal_rows)

    tech = kit.users["tech"].id
    n_cases = max(1, examinations // 4)
    case_ids = _bulk(Case, [{"lab_id": lab_id, "lab_case_number":
                             f"{kit.lab.code}-B-{i:06d}", "year": now.year, "seq": i + 1,
                             "submitting_agency": "Central Police", "created_by_id": tech,
                             "created_at": start} for i in range(n_cases)])
    plans = []
    for i in range(examinations):
        performed = start + timedelta(seconds=rnd.randrange(int((now - start).total_seconds())
                                                            - 86400))
        plans.append({"performed": performed, "requested": performed - timedelta(
            days=rnd.randrange(0, 8), hours=rnd.randrange(0, 20)),
            "examiner": ex_ids[rnd.randrange(len(ex_ids))], "version": rnd.choice(casework),
            "case": case_ids[i % n_cases], "break": rnd.random() < broken_share and
            rnd.choice(["step", "range", "custody", "late", "norev"])})
    item_ids = _bulk(Item, [{"lab_id": lab_id, "case_id": p["case"], "number": str(i),
                             "barcode": f"{kit.lab.code}-B-{i:07d}", "kind": "cartridge_case",
                             "holder_user_id": p["examiner"], "custody_seq": 2,
                             "created_at": p["requested"]} for i, p in enumerate(plans)])
    events = []
    for item_id, p in zip(item_ids, plans, strict=True):
        chain = [("received", p["requested"] - timedelta(hours=2), tech, None),
                 ("transferred", p["performed"] - timedelta(hours=1), p["examiner"], tech)]
        if p["break"] == "custody":
            other = ex_ids[(ex_ids.index(p["examiner"]) + 1) % len(ex_ids)]
            chain.append(("transferred", p["performed"] + timedelta(hours=1), other,
                          p["examiner"]))
        prev = "0" * 64
        for seq, (kind, at, to, frm) in enumerate(chain, start=1):
            digest = hashlib.sha256(f"{item_id}:{seq}:{prev}".encode()).hexdigest()
            events.append({"lab_id": lab_id, "item_id": item_id, "seq": seq, "kind": kind,
                           "to_user_id": to, "from_user_id": frm, "actor_id": tech,
                           "occurred_at": at, "reason": "", "details": {},
                           "prev_hash": prev, "hash": digest})
            prev = digest
    _bulk_plain(CustodyEvent, events)

    exam_rows = []
    for p in plans:
        completed = p["performed"] + timedelta(hours=3)
        released = p["performed"] + timedelta(days=3)
        if p["break"] == "late":
            p["requested"] -= timedelta(days=45)
        exam_rows.append({"lab_id": lab_id, "case_id": p["case"], "sop_version_id":
                          p["version"].id, "examiner_id": p["examiner"],
                          "status": "released" if released < now else "completed",
                          "requested_at": p["requested"], "performed_at": p["performed"],
                          "completed_at": completed, "result": rnd.choice(
                              ["identification", "elimination", "inconclusive_b"]),
                          "released_at": released if released < now else None,
                          "released_by_id": p["examiner"] if released < now else None,
                          "created_at": p["performed"]})
    exam_ids = _bulk(Examination, exam_rows)
    link_items, link_eq, step_rows, review_rows = [], [], [], []
    for exam_id, item_id, p, row in zip(exam_ids, item_ids, plans, exam_rows, strict=True):
        link_items.append({"lab_id": lab_id, "examination_id": exam_id, "item_id": item_id})
        link_eq.append({"lab_id": lab_id, "examination_id": exam_id,
                        "equipment_id": eq_ids[exam_id % len(eq_ids)]})
        for k, (step_id, needs_value, low, high) in enumerate(steps[p["version"].id]):
            if p["break"] == "step" and k == 0:
                continue
            value = None
            if needs_value:
                value = (high or 10) * 2 if p["break"] == "range" else (low + (high or low)) / 2
            step_rows.append({"lab_id": lab_id, "examination_id": exam_id, "step_id": step_id,
                              "value": value, "recorded_by_id": p["examiner"],
                              "recorded_at": row["completed_at"]})
        if row["released_at"] is None or p["break"] == "norev":
            continue
        reviewer = ex_ids[(ex_ids.index(p["examiner"]) + 7) % len(ex_ids)]
        review_rows.append({"lab_id": lab_id, "examination_id": exam_id, "kind": "technical",
                            "reviewer_id": reviewer, "outcome": "agree", "reasons": "",
                            "reviewed_at": row["completed_at"] + timedelta(days=1)})
        review_rows.append({"lab_id": lab_id, "examination_id": exam_id,
                            "kind": "administrative", "reviewer_id": manager.id,
                            "outcome": "approved", "reasons": "",
                            "reviewed_at": row["completed_at"] + timedelta(days=2)})
    _bulk_plain(ExaminationItem, link_items)
    _bulk_plain(ExaminationEquipment, link_eq)
    _bulk_plain(StepRecord, step_rows)
    _bulk_plain(ExaminationReview, review_rows)
    db.session.commit()
    return Seeded(ex_ids, len(exam_ids))


def bench_now() -> datetime:
    return timeutil.utcnow()
