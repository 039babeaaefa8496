"""The complaint pages through the test client: the register with its filters, recording one
naming the lab's cases, each step as a form (an impartiality refusal shown beside the field,
nothing saved), another lab's complaint 404, the nonconformities page's count, and Spanish."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ballistics.auth import services as accounts
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.evidence.models import Case
from ballistics.extensions import db
from sop.models import Complaint
from tests.sop.scenario import build, second_manager
from tests.support.labs import PASSWORD, make_lab
from tests.support.web import Browser, field_errors


def _complaint(kit, ref: str) -> Complaint:
    db.session.expire_all()
    return db.session.scalar(select(Complaint).where(Complaint.lab_id == kit.lab.id,
                                                     Complaint.reference == ref))


def test_complaint_pages_lifecycle(app):
    kit = make_lab()
    sc = build(kit)
    second_manager(kit)
    with acting_as(None, kit.lab.id, "test"):
        kit.users["manager3"] = accounts.create_user(
            kit.lab, f"manager3-{kit.lab.code.lower()}", "Third Manager", PASSWORD,
            [Role.LAB_MANAGER])
    db.session.commit()
    case_number = db.session.get(Case, sc.ids["case"]).lab_case_number
    today = kit.lab.today()
    web = Browser(app, kit, "manager2")
    assert "No complaint recorded." in web.get("/quality/complaints")

    form = {"received_on": today.isoformat(), "complainant_name": "Defence counsel M. Ortiz",
            "complainant_kind": "defence", "channel": "email",
            "subject": "The comparison notes were not disclosed.", "cases": "NOPE-1"}
    _, text, flashed = web.submit("/quality/complaints", form)
    assert field_errors(text) == {"cases": "Unknown case in this lab."}
    assert db.session.scalar(select(Complaint.id).where(Complaint.lab_id == kit.lab.id)) is None
    landing, text, flashed = web.submit("/quality/complaints", {**form, "cases": case_number})
    ref = f"CP-{today.year}-0001"
    assert flashed[0][0] == "success" and ref in flashed[0][1]
    page = landing
    assert case_number in text and "received" in text

    # The steps in order, each a form on the complaint's page.
    web.submit(f"{page}/acknowledge", {"acknowledge-acknowledged_on": today.isoformat()})
    assert _complaint(kit, ref).status == "acknowledged"
    text = web.get(page)
    # Those involved in the examination are not offered as investigators.
    assert "Examiner2" in text and f'<option value="{kit.id("examiner")}">' not in text
    _, text, flashed = web.submit(f"{page}/assign",
                                  {"assign-investigator_id": str(kit.id("reviewer"))})
    assert field_errors(text) == {"assign-investigator_id":
                                  "Involved in the activities complained of."}
    assert _complaint(kit, ref).investigator_id is None
    web.submit(f"{page}/assign", {"assign-investigator_id": str(kit.id("examiner2"))})
    web.submit(f"{page}/inform", {"inform-contacted_on": today.isoformat(),
                                  "inform-note": "Investigation under way."})
    web.submit(f"{page}/decide", {"decide-decision": "not_upheld",
                                  "decide-outcome": "Notes were disclosed on day 3."})
    assert _complaint(kit, ref).status == "decided"
    # Neither the involved manager nor the one who recorded it approves the end; a third can.
    _, text, flashed = Browser(app, kit, "manager").submit(
        f"{page}/close", {"close-communicated_on": today.isoformat()})
    assert flashed[0][0] == "error" and "cannot take part" in flashed[0][1]
    _, text, flashed = web.submit(f"{page}/close", {"close-communicated_on": today.isoformat()})
    assert flashed[0][0] == "error" and "another manager must approve" in flashed[0][1]
    assert _complaint(kit, ref).status == "decided"
    _, text, flashed = Browser(app, kit, "manager3").submit(
        f"{page}/close", {"close-communicated_on": today.isoformat()})
    assert flashed == [("success", f"{ref} closed; the outcome was communicated.")]
    assert _complaint(kit, ref).status == "closed"
    assert 'id="close-form"' not in text and "Notes were disclosed on day 3." in text

    # Filters: an unacknowledged old complaint is overdue.
    web.submit("/quality/complaints", {**form, "cases": "",
                                       "received_on": (today - timedelta(days=15)).isoformat()})
    overdue = web.get("/quality/complaints?overdue=1")
    assert f"CP-{today.year}-0002" in overdue and ref not in overdue
    closed = web.get("/quality/complaints?status=closed")
    assert ref in closed and f"CP-{today.year}-0002" not in closed
    assert "1 open complaint" in web.get("/quality/nonconformities")

    # Another lab: 404; the examiner (neither recorder nor investigator): 403.
    Browser(app, make_lab(), "manager").get(page, expect=404)
    Browser(app, kit, "examiner").get(page, expect=403)
    Browser(app, kit, "examiner").get("/quality/complaints", expect=403)

    # Spanish.
    web.client.set_cookie("lang", "es")
    es = web.get("/quality/complaints")
    assert "Reclamaciones" in es and "Registrar una reclamación" in es
    assert "cerrada" in web.get(page)
