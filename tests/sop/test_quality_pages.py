"""The quality management pages through the test client: each page group's forms save through
the services; a wrong role is a 403, bad input is refused beside the named field, and a refused
form writes nothing."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from babel.dates import format_date
from sqlalchemy import func, select

from ballistics.core import timeutil
from ballistics.evidence import custody
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from sop.models import (
    Authorisation,
    CalibrationRecord,
    CompetencyAssessment,
    CorrectiveAction,
    Equipment,
    Examination,
    Nonconformity,
    ProficiencyTest,
    SopAcknowledgement,
    SopVersion,
    TrainingRecord,
)
from sop.services import equipment, personnel
from tests.sop.scenario import ALL_THREE, as_, make_sop, second_manager
from tests.support.labs import make_lab
from tests.support.web import Browser, field_errors, unescape


def _day(day: date) -> str:
    """A day as an English page writes it (Babel's medium date: "Mar 2, 2026")."""
    return format_date(day, locale="en")


def _count(model, **where) -> int:
    stmt = select(func.count(model.id))
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt)


def _today() -> date:
    return timeutil.utcnow().date()


def test_personnel_training_authorisation_and_chart(app):
    kit = make_lab()
    version = make_sop(kit)
    examiner, manager = kit.users["examiner"], kit.users["manager"]
    with as_(examiner):
        assessment = personnel.self_assess(examiner, ratings={**ALL_THREE, "testimony": 2})
    with as_(kit.users["reviewer"]):
        personnel.supervise(kit.users["reviewer"], assessment, ratings=ALL_THREE)
    db.session.commit()
    person = f"/quality/people/{examiner.id}"

    web = Browser(app, kit, "manager")
    listing = web.get("/quality/people")
    assert f'data-person="{examiner.username}"' in listing
    page = web.get(person)
    # The chart: one assessment, a self and a supervisor point.
    assert page.count('data-series="self"') == 1 and page.count('data-series="supervisor"') == 1

    # Training: refused without a title (named, nothing saved), then recorded.
    landing, text, flashed = web.submit(f"{person}/training", {"title": "",
                                                               "completed_on": "2026-01-10"})
    assert field_errors(text) == {"title": "Missing data for required field."}
    assert _count(TrainingRecord, user_id=examiner.id) == 0
    landing, text, flashed = web.submit(f"{person}/training", {
        "title": "Comparison microscopy module 3", "completed_on": "2026-01-10",
        "sop_id": str(version.sop_id), "hours": "16"})
    assert landing == person and "Comparison microscopy module 3" in text
    assert _count(TrainingRecord, user_id=examiner.id) == 1

    # Authorisation: an expiry before the start is refused naming the field; then granted.
    start, end = _today(), _today() + timedelta(days=200)
    _, text, _ = web.submit(f"{person}/authorisations", {
        "sop_id": str(version.sop_id), "starts_on": start.isoformat(),
        "expires_on": (start - timedelta(days=1)).isoformat()})
    assert field_errors(text) == {"expires_on": "Before the “Starts on” date."}
    assert _count(Authorisation, user_id=examiner.id) == 0
    _, text, flashed = web.submit(f"{person}/authorisations", {
        "sop_id": str(version.sop_id), "starts_on": start.isoformat(),
        "expires_on": end.isoformat()})
    assert flashed == [("success", f"Examiner is authorised for FA-06 until {end}.")]
    grant_id = db.session.scalar(select(Authorisation.id).where(
        Authorisation.user_id == examiner.id))
    # A manager cannot authorise themself: the service's refusal is shown, nothing saved.
    _, text, flashed = web.submit(f"/quality/people/{manager.id}/authorisations", {
        "sop_id": str(version.sop_id), "starts_on": start.isoformat(),
        "expires_on": end.isoformat()})
    assert flashed == [("error", "You cannot authorise yourself; another manager must.")]
    assert _count(Authorisation, user_id=manager.id) == 0
    # Revoke needs a reason, then the box naming the person and the SOP: without it nothing
    # changes; a revocation is not undone.
    revoke = f"/quality/authorisations/{grant_id}/revoke"
    _, text, _ = web.submit(revoke, {"reason": "", "confirm": "y"})
    assert field_errors(text)["reason"] == "Missing data for required field."
    sentence = _box(web.get(person), revoke)
    assert "Examiner is no longer authorised for FA-06" in sentence
    assert "cannot be undone" in sentence
    for unticked in ({}, {"confirm": ""}, {"confirm": "false"}):
        _, text, flashed = web.submit(revoke, {"reason": "Left the section", **unticked})
        assert flashed[0][0] == "error" and "Tick the box to confirm" in flashed[0][1]
        assert "Examiner is no longer authorised" in field_errors(text)["confirm"]
        db.session.expire_all()
        assert db.session.get(Authorisation, grant_id).revoked_on is None
    _, text, flashed = web.submit(revoke, {"reason": "Left the section", "confirm": "y"})
    assert flashed[0][0] == "success" and "revoked from" in text and "Left the section" in text
    db.session.expire_all()
    assert db.session.get(Authorisation, grant_id).revoked_reason == "Left the section"

    # Least privilege: an examiner neither sees nor writes personnel records.
    other = Browser(app, kit, "examiner2")
    other.get("/quality/people", expect=403)
    other.get(person, expect=403)
    other.post(f"{person}/training", {"title": "Self-taught", "completed_on": "2026-01-01"},
               expect=403)
    assert _count(TrainingRecord, user_id=examiner.id) == 1
    # Per-lab isolation: another lab's manager does not see this person.
    Browser(app, make_lab(), "manager").get(person, expect=404)


def test_equipment_failed_check_takes_it_out_of_service(app):
    kit = make_lab()
    web = Browser(app, kit, "manager")
    _, text, _ = web.submit("/quality/equipment", {"code": "", "name": "Microscope",
                                                   "kind": "comparison_microscope"})
    assert field_errors(text) == {"code": "Missing data for required field."}
    landing, text, _ = web.submit("/quality/equipment", {
        "code": "MIC-09", "name": "Comparison microscope", "kind": "comparison_microscope"})
    eq_id = int(re.search(r"/quality/equipment/(\d+)$", landing).group(1))
    assert 'data-state="never_calibrated"' in text

    today = _today()
    passed = {"kind": "calibration", "performed_on": (today - timedelta(days=10)).isoformat(),
              "due_on": (today + timedelta(days=355)).isoformat(), "is_passed": "true",
              "performed_by": "MetroCal"}
    _, text, flashed = web.submit(f"/quality/equipment/{eq_id}/calibrations", passed)
    assert flashed == [("success", "Calibration recorded; MIC-09 is in service.")]
    # A result left unchosen, and a due date before the check, are refused by name.
    _, text, _ = web.submit(f"/quality/equipment/{eq_id}/calibrations",
                            {**passed, "is_passed": ""})
    assert field_errors(text) == {"is_passed": "Missing data for required field."}
    _, text, _ = web.submit(f"/quality/equipment/{eq_id}/calibrations",
                            {**passed, "due_on": (today - timedelta(days=20)).isoformat()})
    assert field_errors(text) == {"due_on": "Before the “Performed on” date."}
    assert _count(CalibrationRecord, equipment_id=eq_id) == 1

    failed = {**passed, "kind": "performance_check", "performed_on": today.isoformat(),
              "is_passed": "false"}
    _, text, flashed = web.submit(f"/quality/equipment/{eq_id}/calibrations", failed)
    assert flashed == [("success", "Performance check recorded; MIC-09 is out of service: it "
                                   f"failed its performance check on {_day(today)}.")]
    assert 'data-state="failed_check"' in text
    assert re.search(r'data-equipment="MIC-09">.*?data-state="failed_check"',
                     web.get("/quality/equipment"), re.S)

    # Taking it out of service needs a reason (the service's rule), named.
    _, text, flashed = web.submit(f"/quality/equipment/{eq_id}/service", {"reason": ""})
    assert field_errors(text) == {"reason": "Required when taking out of service."}
    assert not db.session.get(Equipment, eq_id).is_out_of_service

    examiner = Browser(app, kit, "examiner")
    examiner.get("/quality/equipment", expect=403)
    examiner.post(f"/quality/equipment/{eq_id}/calibrations", passed, expect=403)
    assert _count(CalibrationRecord, equipment_id=eq_id) == 2
    Browser(app, make_lab(), "manager").get(f"/quality/equipment/{eq_id}", expect=404)


def test_sop_version_approval_by_another_manager_and_acknowledgement(app):
    kit = make_lab()
    make_sop(kit)
    second_manager(kit)
    db.session.commit()
    web = Browser(app, kit, "manager")
    sop_url = re.search(r'href="(/quality/sops/\d+)"', web.get("/quality/sops")).group(1)
    landing, text, _ = web.submit(f"{sop_url}/versions", {
        "summary": "Adds the 3D scan step.", "body": "1. Scope\nCartridge cases.",
        "steps": "Check the microscope | Daily check\nScan in 3D | At 2 µm\n",
        "turnaround_days": "abc"})
    assert field_errors(text) == {"turnaround_days": "Not a valid integer."}
    assert _count(SopVersion, lab_id=kit.lab.id) == 1
    landing, text, _ = web.submit(f"{sop_url}/versions", {
        "summary": "Adds the 3D scan step.", "body": "1. Scope\nCartridge cases.",
        "steps": "Check the microscope | Daily check\nScan in 3D | At 2 µm\n"})
    version_url = landing
    assert "Scan in 3D" in text and "Cartridge cases." in text and "FA-06 v2" in text

    # A draft is not approved before it is sent for review.
    approver = Browser(app, kit, "manager2")
    _, text, flashed = approver.submit(f"{version_url}/approve", {})
    assert flashed == [("error", "FA-06 v2 is draft; only a version sent for review can be "
                                 "approved.")]
    _, text, flashed = web.submit(f"{version_url}/submit-for-review", {})
    assert '<strong class="version-status">in review</strong>' in text
    # The author cannot approve: the refusal is shown and the version stays in review.
    _, text, flashed = web.submit(f"{version_url}/approve", {})
    assert flashed == [("error", "You wrote FA-06 v2; another manager must approve it.")]
    assert '<strong class="version-status">in review</strong>' in text
    # An examiner cannot approve at all.
    Browser(app, kit, "examiner").post(f"{version_url}/approve", {}, expect=403)

    _, text, flashed = approver.submit(f"{version_url}/approve", {})
    assert flashed == [("success", "FA-06 v2 approved; put it in force when ready.")]
    _, text, flashed = approver.submit(f"{version_url}/activate", {"effective_from": "soon"})
    assert field_errors(text) == {"effective_from": "Not a valid date."}
    _, text, flashed = approver.submit(f"{version_url}/activate", {})
    assert '<strong class="version-status">effective</strong>' in text

    reader = Browser(app, kit, "examiner")
    page = reader.get(version_url)
    assert "Scan in 3D" in page and 'id="acknowledge-form"' in page
    assert "approve-form" not in page
    _, text, flashed = reader.submit(f"{version_url}/acknowledge", {})
    assert flashed == [("success", "You acknowledged FA-06 v2.")]
    acknowledged = re.search(r'<ul id="acknowledged">(.*?)</ul>', text, re.S).group(1)
    pending = re.search(r'<ul id="pending">(.*?)</ul>', text, re.S).group(1)
    assert "Examiner<" in acknowledged.replace(" <span", "<")
    assert "Examiner2" in pending and "Examiner<" not in pending
    # A second acknowledgement is refused and nothing more is saved.
    _, text, flashed = reader.submit(f"{version_url}/acknowledge", {})
    # the day as the reader writes it, in the lab's calendar (was 2026-03-02, the UTC day)
    assert flashed == [("error", "You acknowledged FA-06 v2 on "
                                 f"{_day(kit.lab.today())}.")], flashed
    version_id = int(version_url.rsplit("/", 1)[1])
    assert _count(SopAcknowledgement, version_id=version_id) == 1
    # An examiner reads but does not write SOPs; another lab does not see them.
    reader.post("/quality/sops", {"code": "FA-99", "title": "Mine"}, expect=403)
    Browser(app, make_lab(), "examiner").get(version_url, expect=404)
    assert 'id="retire-form"' not in page  # nor retires them

    # Retiring asks first, naming the version; unticked, the version stays in force.
    retire = f"{version_url}/retire"
    sentence = _box(web.get(version_url), retire)
    assert "FA-06 v2" in sentence and "cannot be put back in force" in sentence
    for unticked in ({}, {"confirm": ""}):
        _, text, flashed = web.submit(retire, unticked)
        assert flashed[0][0] == "error" and "Tick the box to confirm" in flashed[0][1]
        assert "FA-06 v2" in field_errors(text)["confirm"]
        assert '<strong class="version-status">effective</strong>' in text
        db.session.expire_all()
        assert db.session.get(SopVersion, version_id).status == "effective"
    _, text, flashed = web.submit(retire, {"confirm": "y"})
    assert flashed == [("success", "FA-06 v2 retired.")]
    assert '<strong class="version-status">retired</strong>' in text


def _box(page: str, action: str) -> str:
    """The label of the confirmation box in the form posting to ``action``."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    assert 'type="checkbox"' in form and 'name="confirm"' in form
    return html.unescape(re.search(r'<label class="check">.*?>\s*(.*?)</label>', form, re.S)
                         .group(1))


def test_capa_through_verification_and_close(app):
    kit = make_lab()
    web = Browser(app, kit, "manager")
    _, text, _ = web.submit("/quality/nonconformities", {"title": "", "severity": "major"})
    assert field_errors(text) == {"title": "Missing data for required field."}
    assert _count(Nonconformity, lab_id=kit.lab.id) == 0
    nc_url, text, _ = web.submit("/quality/nonconformities", {
        "title": "Microscope used past calibration", "severity": "major",
        "description": "Found at internal audit."})
    actions_url = f"{nc_url}/actions"
    for who, kind in (("examiner", "corrective"), ("manager", "preventive")):
        web.submit(actions_url, {"kind": kind, "owner_id": str(kit.users[who].id),
                                 "due_on": (_today() + timedelta(days=14)).isoformat(),
                                 "description": f"{kind} action"})
    by_owner = {a.owner_id: a.id for a in db.session.execute(select(CorrectiveAction).join(
        Nonconformity).where(Nonconformity.lab_id == kit.lab.id)).scalars()}
    mine, theirs = by_owner[kit.users["manager"].id], by_owner[kit.users["examiner"].id]
    owner = Browser(app, kit, "examiner")
    owner.submit(f"/quality/corrective-actions/{theirs}/complete", {"note": "Briefed all."})
    web.submit(f"/quality/corrective-actions/{mine}/complete", {"note": "Added a check."})

    # The owner of an action cannot verify it; a verdict left out is named.
    _, text, flashed = web.submit(f"/quality/corrective-actions/{mine}/verify", {
        "is_effective": "true", "verification": "I checked my own work."})
    assert flashed == [("error", "You own this action; someone else must verify its "
                                 "effectiveness.")]
    _, text, _ = web.submit(f"/quality/corrective-actions/{theirs}/verify",
                            {"is_effective": "", "verification": "Audit of 10 exams."})
    assert field_errors(text) == {"is_effective": "Missing data for required field."}
    owner.post(f"/quality/corrective-actions/{theirs}/verify",
               {"is_effective": "true", "verification": "Mine."}, expect=403)
    assert db.session.get(CorrectiveAction, theirs).verified_at is None
    _, text, flashed = web.submit(f"/quality/corrective-actions/{theirs}/verify", {
        "is_effective": "true", "verification": "Audit of 10 exams: all in calibration."})
    assert flashed == [("success", "Action verified effective.")]

    # Not closable while an action is unverified.
    _, text, flashed = web.submit(f"{nc_url}/close", {"root_cause": "No due-date reminder."})
    # The one pending action is named as the page lists it (its id is not on the page).
    assert flashed == [("error", "The action “preventive action” is not yet verified "
                                 "effective.")]
    spanish = web.client.post(f"{nc_url}/close", data={
        "csrf_token": web.token, "root_cause": "No due-date reminder."},
        headers={"Accept-Language": "es"})
    assert ("La acción «preventive action» aún no está verificada como eficaz."
            in unescape(spanish.text))
    # The manager's own preventive action is verified by a second manager.
    second_manager(kit)
    db.session.commit()
    Browser(app, kit, "manager2").submit(f"/quality/corrective-actions/{mine}/verify", {
        "is_effective": "true", "verification": "Reminder fired in a test."})
    _, text, _ = web.submit(f"{nc_url}/close", {"root_cause": ""})
    assert field_errors(text) == {"root_cause": "Missing data for required field."}
    _, text, flashed = web.submit(f"{nc_url}/close", {"root_cause": "No due-date reminder."})
    assert '<strong class="nc-status">closed</strong>' in text
    assert "No due-date reminder." in text
    Browser(app, kit, "examiner").get("/quality/nonconformities", expect=403)
    Browser(app, kit, "examiner2").get(nc_url, expect=403)
    Browser(app, make_lab(), "manager").get(nc_url, expect=404)


def test_examiner_starts_an_examination_only_when_authorised(app):
    kit = make_lab()
    version = make_sop(kit)
    examiner, manager, tech = (kit.users[w] for w in ("examiner", "manager", "tech"))
    with as_(manager):
        microscope = equipment.register(manager, code="MIC-01", name="Microscope",
                                        kind="comparison_microscope")
        equipment.record_calibration(manager, microscope, kind="calibration",
                                     performed_on=_today() - timedelta(days=5),
                                     due_on=_today() + timedelta(days=300), is_passed=True)
    with as_(tech):
        case = create_case(tech, submitting_agency="Central Police")
        item = custody.receive(tech, case, kind="cartridge_case", from_agency="Central Police")
        custody.transfer(tech, item, to_user_id=examiner.id)
    db.session.commit()
    form = {"sop_version_id": str(version.id), "item_ids": str(item.id),
            "equipment_ids": str(microscope.id)}
    web = Browser(app, kit, "examiner")
    page = web.get("/quality/examinations/new")
    assert item.barcode in page and "MIC-01" in page and "in service" in page
    _, text, flashed = web.submit("/quality/examinations", form)
    assert flashed[0][0] == "error" and "held no authorisation for FA-06" in flashed[0][1]
    assert _count(Examination, lab_id=kit.lab.id) == 0
    _, text, _ = web.submit("/quality/examinations", {**form, "item_ids": ""})
    assert field_errors(text) == {"item_ids": "Shorter than minimum length 1."}
    with as_(manager):
        personnel.grant_authorisation(manager, user_id=examiner.id, sop_id=version.sop_id,
                                      starts_on=_today(), expires_on=_today() + timedelta(days=9))
    db.session.commit()
    landing, text, flashed = web.submit("/quality/examinations", form)
    assert flashed == [("success", f"Examination #{landing.rsplit('/', 1)[1]} started under "
                                   "FA-06 v1.")]
    assert "in progress" in text and item.barcode in text
    Browser(app, kit, "manager").post("/quality/examinations", form, expect=403)
    assert _count(Examination, lab_id=kit.lab.id) == 1


def test_competency_self_assessment_then_supervisor_rating(app):
    kit = make_lab()
    examiner = kit.users["examiner"]
    page_url = f"/quality/examiners/{examiner.id}/competency"
    scores = {f"score_{code}": "3" for code in personnel.AREA_CODES}
    web = Browser(app, kit, "examiner")
    assert 'id="self-form"' in web.get(page_url)
    # One area left unrated: refused, naming it; nothing saved.
    _, text, flashed = web.submit(page_url, {**scores, "score_testimony": ""})
    # the area left out is named as the page names it (was its code: "missing areas testimony")
    assert flashed == [("error", "Rate every competency area once; not rated: Court testimony.")]
    spanish = web.client.post(page_url, data={"csrf_token": web.token, **scores,
                                               "score_testimony": ""},
                              headers={"Accept-Language": "es"})
    assert "sin calificar: Testimonio en juicio." in unescape(spanish.text)
    assert _count(CompetencyAssessment, user_id=examiner.id) == 0
    _, text, flashed = web.submit(page_url, {**scores, "score_microscopy": "7"})
    assert flashed[0][0] == "error" and "ratings" in flashed[0][1]
    assert _count(CompetencyAssessment, user_id=examiner.id) == 0
    _, text, flashed = web.submit(page_url, {**scores, "score_testimony": "2"})
    assert flashed == [("success", "Self-assessment recorded; a supervisor rates it next.")]
    assessment_id = db.session.scalar(select(CompetencyAssessment.id).where(
        CompetencyAssessment.user_id == examiner.id))
    rate_url = f"/quality/competency-assessments/{assessment_id}/supervise"
    # Neither the examiner nor a fellow examiner rates as supervisor; no one rates for another.
    web.post(rate_url, scores, expect=403)
    Browser(app, kit, "examiner2").post(page_url, scores, expect=403)
    Browser(app, kit, "examiner2").post(rate_url, scores, expect=403)

    supervisor = Browser(app, kit, "reviewer")
    page = supervisor.get(page_url)
    assert "supervise-form" in page and "self-form" not in page
    _, text, flashed = supervisor.submit(rate_url, scores)
    assert flashed == [("success", "Examiner rated: competent.")]
    assert text.count('data-series="self"') == 1 and text.count('data-series="supervisor"') == 1
    assert "supervise-form" not in text


def test_quality_pages_show_dates_in_the_readers_locale(app):
    """Training, authorisation, proficiency and calibration dates read as the language
    writes them ("Jan 10, 2026", "10 ene 2026"), not as stored (2026-01-10)."""
    from babel.dates import format_date

    kit = make_lab()
    version = make_sop(kit)
    examiner, manager = kit.users["examiner"], kit.users["manager"]
    today = _today()
    days = {"trained": date(2026, 1, 10), "tested": date(2025, 11, 3), "start": today,
            "expires": today + timedelta(days=200), "checked": today - timedelta(days=10),
            "due": today + timedelta(days=355)}
    with as_(manager):
        personnel.record_training(manager, user_id=examiner.id, title="Module 3",
                                  completed_on=days["trained"])
        personnel.record_proficiency(manager, user_id=examiner.id, provider="CTS",
                                     taken_on=days["tested"], is_satisfactory=True)
        personnel.grant_authorisation(manager, user_id=examiner.id, sop_id=version.sop_id,
                                      starts_on=days["start"], expires_on=days["expires"])
        microscope = equipment.register(manager, code="MIC-07", name="Microscope",
                                        kind="comparison_microscope")
        equipment.record_calibration(manager, microscope, kind="calibration",
                                     performed_on=days["checked"], due_on=days["due"],
                                     is_passed=True)
    db.session.commit()
    pages = {f"/quality/people/{examiner.id}": ("trained", "tested", "start", "expires"),
             "/quality/people": ("trained", "tested"),
             f"/quality/equipment/{microscope.id}": ("checked", "due"),
             "/quality/equipment": ("due",)}
    web = Browser(app, kit, "manager")
    for locale in ("en", "es"):
        for path, shown in pages.items():
            response = web.client.get(path, headers={"Accept-Language": locale})
            assert response.status_code == 200, path
            text = response.text
            assert f'<html lang="{locale}">' in text
            for name in shown:
                assert format_date(days[name], "medium", locale=locale) in text, (
                    locale, path, name)
                # (form fields keep ISO values: outside the tags only)
                assert days[name].isoformat() not in re.sub(r"<[^>]+>", " ", text), (
                    locale, path, name)


def test_equipment_kinds_to_choose_from_are_in_the_readers_language(app):
    """The new-instrument form offered 'comparison microscope', 'test fire tank' on a Spanish
    page (the stored codes with spaces)."""
    kit = make_lab()
    web = Browser(app, kit, "manager")
    text = web.client.get("/quality/equipment", headers={"Accept-Language": "es"}).text
    options = dict(re.findall(r'<option value="(\w+)">([^<]+)</option>', text))
    assert options["comparison_microscope"] == "microscopio de comparación", options
    assert options["test_fire_tank"] != "test fire tank", options


def test_training_proficiency_and_calibration_dated_in_the_future_are_refused(app):
    """A training 'completed' in 2030, a proficiency test 'taken' and a calibration
    'performed' in 2099 were recorded as facts; each is refused naming its date field, and
    nothing is written."""
    kit = make_lab()
    examiner = kit.users["examiner"]
    with as_(kit.users["manager"]):
        microscope = equipment.register(kit.users["manager"], code="MIC-09", name="Microscope",
                                        kind="comparison_microscope")
    db.session.commit()
    web = Browser(app, kit, "manager")
    web.client.set_cookie("lang", "es")
    tomorrow = (_today() + timedelta(days=2)).isoformat()
    posts = {
        f"/quality/people/{examiner.id}/training": (
            {"title": "Módulo 4", "completed_on": tomorrow}, "completed_on",
            (TrainingRecord, {"user_id": examiner.id})),
        f"/quality/people/{examiner.id}/proficiency": (
            {"provider": "CTS", "taken_on": tomorrow, "is_satisfactory": "true"}, "taken_on",
            (ProficiencyTest, {"user_id": examiner.id})),
        f"/quality/equipment/{microscope.id}/calibrations": (
            {"kind": "calibration", "performed_on": tomorrow, "is_passed": "true",
             "due_on": (_today() + timedelta(days=300)).isoformat()}, "performed_on",
            (CalibrationRecord, {"equipment_id": microscope.id}))}
    before = {path: _count(model, **where) for path, (_, _, (model, where)) in posts.items()}
    for path, (data, field, (model, where)) in posts.items():
        _, text, flashed = web.submit(path, data)
        assert field_errors(text).get(field) == "En el futuro.", (path, field_errors(text))
        assert "en el futuro" in flashed[0][1], flashed
        assert _count(model, **where) == before[path], path


def test_an_authorisation_with_one_day_left_says_day(app):
    """The person page said '1 days left' / 'quedan 1 días' the day before an authorisation
    lapsed."""
    kit = make_lab()
    version = make_sop(kit)
    examiner, manager = kit.users["examiner"], kit.users["manager"]
    today = kit.lab.today()
    with as_(manager):
        personnel.grant_authorisation(manager, user_id=examiner.id, sop_id=version.sop_id,
                                      starts_on=today, expires_on=today + timedelta(days=1))
    db.session.commit()
    web = Browser(app, kit, "manager")
    english = web.client.get(f"/quality/people/{examiner.id}",
                             headers={"Accept-Language": "en"}).text
    spanish = web.client.get(f"/quality/people/{examiner.id}",
                             headers={"Accept-Language": "es"}).text
    assert "1 day left" in english and "1 days" not in english
    assert "queda 1 día" in spanish and "quedan 1 días" not in spanish


def test_examination_page_shows_what_each_step_recorded_and_the_result(app):
    """A completed examination's page listed its SOP's required steps bare, so five steps never
    recorded read like five done; it now says per step what was recorded (or that nothing
    was), the conclusion and the reviews."""
    from sop.services import examinations
    from tests.sop.scenario import qualify

    kit = make_lab()
    version = make_sop(kit)
    examiner, tech = kit.users["examiner"], kit.users["tech"]
    qualify(kit, version, "examiner", today=_today())
    with as_(tech):
        case = create_case(tech, submitting_agency="Central Police")
        item = custody.receive(tech, case, kind="cartridge_case", from_agency="Central Police")
        custody.transfer(tech, item, to_user_id=examiner.id)
    with as_(examiner):
        exam = examinations.start(examiner, sop_version_id=version.id, item_ids=[item.id])
        magnification = next(s for s in version.steps if s.is_value_required)
        examinations.record_step(examiner, exam, step_id=magnification.id, value=40)
        examinations.complete(examiner, exam, result="elimination", notes="Different marks.")
    db.session.commit()
    page = Browser(app, kit, "examiner").client.get(
        f"/quality/examinations/{exam.id}", headers={"Accept-Language": "es"}).text
    steps = dict(re.findall(r'<li data-step="(\d+)" data-recorded="(\w+)">', page))
    assert steps == {"1": "no", "2": "yes", "3": "no"}, steps
    assert page.count("sin registrar") == 2 and "magnification: <strong>40 x</strong>" in page
    assert "eliminación · Different marks." in page and "Ninguno." in page
