"""A lab manager and examiners running the quality system in a real browser, one journey per
test: training and authorisation let an examiner start; an SOP version approved by another
manager and acknowledged; a failed check takes an instrument out of service; a CAPA verified
and closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ballistics.auth.models import ApiToken
from ballistics.core import timeutil
from ballistics.evidence import custody
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from sop.models import Authorisation, SopVersion
from sop.services import documents, equipment, personnel
from tests.sop.scenario import as_, make_sop, qualify, second_manager
from tests.support.browser import login, screenshot
from tests.support.labs import LabKit, make_lab

pytestmark = pytest.mark.browser


def _flash(page):
    return page.locator(".flash").first


def _switch(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    login(page, base, username)


def _fits_a_phone(page) -> None:
    """At 390 px the page's content does not scroll sideways (wide tables scroll inside their
    own box). The site header is the layout's, checked with it."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    content, box = page.evaluate("[document.querySelector('main').scrollWidth, "
                                 "document.querySelector('main').clientWidth]")
    page.set_viewport_size(size)
    assert content <= box, (page.url, content, box)


def _bench(kit: LabKit):
    """An SOP in force, a calibrated microscope and an item in the examiner's custody."""
    version = make_sop(kit)
    manager, tech = kit.users["manager"], kit.users["tech"]
    today = timeutil.utcnow().date()
    with as_(manager):
        microscope = equipment.register(manager, code="MIC-01", name="Comparison microscope",
                                        kind="comparison_microscope")
        equipment.record_calibration(manager, microscope, kind="calibration",
                                     performed_on=today - timedelta(days=30),
                                     due_on=today + timedelta(days=330), is_passed=True,
                                     performed_by="MetroCal")
    with as_(tech):
        case = create_case(tech, submitting_agency="Central Police")
        item = custody.receive(tech, case, kind="cartridge_case", from_agency="Central Police")
        custody.transfer(tech, item, to_user_id=kit.users["examiner"].id)
    db.session.commit()
    return version, microscope, item


def _assessed(kit: LabKit) -> None:
    """Two sittings of the assessment tool a year apart: the examiner rated themself higher
    than the supervisor did the first time."""
    examiner, supervisor = kit.users["examiner"], kit.users["reviewer"]
    today = timeutil.utcnow().date()
    for days, own, theirs in ((330, 4, 2), (20, 3, 3)):
        with as_(examiner):
            sitting = personnel.self_assess(examiner, assessed_on=today - timedelta(days=days),
                                            ratings={a: own for a in personnel.AREA_CODES})
        with as_(supervisor):
            personnel.supervise(supervisor, sitting,
                                ratings={a: theirs for a in personnel.AREA_CODES})
    db.session.commit()


def test_training_and_authorisation_let_an_examiner_start(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        version, _microscope, item = _bench(kit)
        _assessed(kit)
        names = {w: u.username for w, u in kit.users.items()}
        sop_label, barcode = f"{version.label} · {version.sop.title}", item.barcode
        db.session.remove()

    login(page, live_server, names["manager"])
    page.click("header nav >> text=Quality")
    page.click(".subnav >> text=Personnel")
    page.click(f"tr[data-person='{names['examiner']}'] a")
    expect(page.locator("h1")).to_have_text("Examiner")
    expect(page.locator("#competency circle.dot.supervisor")).to_have_count(2)
    expect(page.locator("#competency polyline.line.self")).to_have_count(1)

    training = page.locator("#training-form")
    training.locator("input[name=title]").fill("FA-06 comparison microscopy, supervised casework")
    training.locator("select[name=sop_id]").select_option(label="FA-06 · Comparison microscopy")
    training.locator("input[name=hours]").fill("40")
    training.locator("input[name=provider]").fill("In-house")
    training.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("Training “FA-06 comparison microscopy")
    expect(page.locator("#training table")).to_contain_text("supervised casework")

    grant = page.locator("#authorisation-form")
    grant.locator("select[name=sop_id]").select_option(label="FA-06 · Comparison microscopy")
    grant.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("Examiner is authorised for FA-06 until")
    expect(page.locator("#authorisations tbody tr")).to_have_count(1)
    expect(page.locator("#authorisations")).to_contain_text("current")
    screenshot(page, "quality-a1-training-authorisation")
    _fits_a_phone(page)

    _switch(page, live_server, names["examiner"])
    page.click("header nav >> text=SOPs")
    page.click(".subnav >> text=Start an examination")
    form = page.locator("#exam-form")
    form.locator("select[name=sop_version_id]").select_option(label=sop_label)
    form.locator("select[name=item_ids]").select_option(label=f"{barcode} · cartridge case")
    form.locator("select[name=equipment_ids]").select_option(
        label="MIC-01 · Comparison microscope (in service)")
    form.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("started under FA-06 v1")
    expect(page.locator(".exam-status")).to_have_text("in progress")
    expect(page.locator("dl.facts")).to_contain_text(barcode)
    screenshot(page, "quality-a2-examination-started")
    _fits_a_phone(page)


def test_sop_version_approved_by_another_manager_and_acknowledged(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        make_sop_v1 = make_sop(kit)
        author = second_manager(kit)
        with as_(author):
            fa06 = make_sop_v1.sop
            draft = documents.create_version(
                author, fa06, summary="Adds 3D topography before comparison.",
                body="1. Scope\nFired cartridge cases.\n2. Procedure\nScan, then compare.",
                steps=[{"title": "Check the microscope", "instruction": "Daily check."},
                       {"title": "Scan in 3D", "instruction": "At 2 µm lateral resolution."}])
            documents.submit_for_review(author, draft)
        db.session.commit()
        names = {w: u.username for w, u in kit.users.items()}
        version_path = f"/quality/sop-versions/{draft.id}"
        db.session.remove()

    login(page, live_server, names["manager"])
    page.click("header nav >> text=Quality")
    page.click(".subnav >> text=SOPs")
    page.click("tr[data-sop='FA-06'] a >> text=FA-06")
    page.click("tr[data-version='2'] a")
    expect(page.locator("#text")).to_contain_text("Scan, then compare.")
    expect(page.locator("#steps li")).to_have_count(2)
    expect(page.locator(".muted").first).to_contain_text("written by Second Manager")
    expect(page.locator(".lifecycle [aria-current=step]")).to_have_text("In review")
    page.click("#approve-form button")
    expect(_flash(page)).to_have_text("FA-06 v2 approved; put it in force when ready.")
    page.click("#activate-form button[type=submit]")
    expect(_flash(page)).to_contain_text("FA-06 v2 is in force from")
    expect(page.locator(".version-status")).to_have_text("effective")
    expect(page.locator("#pending")).to_contain_text("Examiner2")

    for who in ("examiner", "examiner2"):
        _switch(page, live_server, names[who])
        page.click("header nav >> text=SOPs")
        page.click("tr[data-sop='FA-06'] a >> text=v2")
        page.click("#acknowledge-form button")
        expect(_flash(page)).to_have_text("You acknowledged FA-06 v2.")
        expect(page.locator(".ack-mine")).to_contain_text("You acknowledged this version on")

    _switch(page, live_server, names["manager"])
    page.goto(live_server + version_path)
    expect(page.locator("#acknowledged li")).to_have_count(2)
    pending = page.locator("#pending").inner_text()
    assert "Examiner\n" not in pending + "\n" and "Examiner2" not in pending
    screenshot(page, "quality-b-sop-approved-acknowledged")
    _fits_a_phone(page)


def test_failed_check_takes_an_instrument_out_of_service(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        version, _microscope, item = _bench(kit)
        today = timeutil.utcnow().date()
        with as_(kit.users["manager"]):
            personnel.grant_authorisation(kit.users["manager"], user_id=kit.users["examiner"].id,
                                          sop_id=version.sop_id, starts_on=today,
                                          expires_on=today + timedelta(days=300))
        db.session.commit()
        names = {w: u.username for w, u in kit.users.items()}
        sop_label, barcode = f"{version.label} · {version.sop.title}", item.barcode
        db.session.remove()

    login(page, live_server, names["manager"])
    page.click("header nav >> text=Quality")
    page.click(".subnav >> text=Equipment")
    expect(page.locator("tr[data-equipment='MIC-01'] .state")).to_have_text("in service")
    page.click("tr[data-equipment='MIC-01'] a")
    check = page.locator("#calibration-form")
    check.locator("select[name=kind]").select_option("performance_check")
    check.locator("select[name=is_passed]").select_option("false")
    check.locator("input[name=performed_by]").fill("Examiner")
    check.locator("textarea[name=notes]").fill("Reticle misaligned against the stage "
                                               "micrometer by 8 µm.")
    check.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("MIC-01 is out of service: it failed its "
                                         "performance check on")
    expect(page.locator("#service-state .state")).to_have_text("failed check")
    expect(page.locator(".state-reason")).to_contain_text("Must not be used for casework")
    screenshot(page, "quality-c1-failed-check")
    _fits_a_phone(page)
    page.click(".subnav >> text=Equipment")
    expect(page.locator("tr[data-equipment='MIC-01'] .state")).to_have_text("failed check")

    # The examiner is refused the instrument at the start of an examination.
    _switch(page, live_server, names["examiner"])
    page.goto(live_server + "/quality/examinations/new")
    form = page.locator("#exam-form")
    form.locator("select[name=sop_version_id]").select_option(label=sop_label)
    form.locator("select[name=item_ids]").select_option(label=f"{barcode} · cartridge case")
    form.locator("select[name=equipment_ids]").select_option(
        label="MIC-01 · Comparison microscope (failed check)")
    form.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("failed its performance check")
    screenshot(page, "quality-c2-start-refused")


def test_capa_is_verified_and_closed(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        names = {w: u.username for w, u in kit.users.items()}
        db.session.remove()
    due = (timeutil.utcnow().date() + timedelta(days=14)).isoformat()

    login(page, live_server, names["manager"])
    page.click("header nav >> text=Quality")
    page.click(".subnav >> text=Nonconformities")
    form = page.locator("#nc-form")
    form.locator("input[name=title]").fill("Bench notes without the test-fire count")
    form.locator("textarea[name=description]").fill("Internal audit: 3 of 20 files.")
    form.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("recorded; plan its corrective action")
    nc_url = page.url
    action = page.locator("#action-form")
    action.locator("select[name=kind]").select_option("corrective")
    action.locator("select[name=owner_id]").select_option(label="Examiner")
    action.locator("input[name=due_on]").fill(due)
    action.locator("textarea[name=description]").fill("Add the count to the bench-note form.")
    action.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("Corrective action planned for Examiner")

    _switch(page, live_server, names["examiner"])
    page.goto(nc_url)
    page.locator(".complete-form input[name=note]").fill("Form FA-06-F2 revised.")
    page.locator(".complete-form button").click()
    expect(_flash(page)).to_contain_text("Action marked done")
    expect(page.locator(".verify-form")).to_have_count(0)

    _switch(page, live_server, names["manager"])
    page.goto(nc_url)
    verify = page.locator(".verify-form")
    verify.locator("select[name=is_effective]").select_option("true")
    verify.locator("textarea[name=verification]").fill("Re-audit of 20 new files: all record "
                                                       "the count.")
    verify.locator("button[type=submit]").click()
    expect(_flash(page)).to_have_text("Action verified effective.")
    expect(page.locator("table.actions .effectiveness")).to_contain_text("effective")
    page.locator("#close-form textarea[name=root_cause]").fill("The form had no field for it.")
    page.locator("#close-form button").click()
    expect(page.locator(".nc-status")).to_have_text("closed")
    expect(page.locator(".root-cause")).to_have_text("The form had no field for it.")
    # The actions are laid out as a table (the evidence page's .actions grid once broke it).
    assert page.locator("table.actions").evaluate("t => getComputedStyle(t).display") == "table"
    screenshot(page, "quality-d-capa-verified")
    _fits_a_phone(page)


def test_revoke_and_retire_ask_first(pg_app, live_server, page):
    """Revoking an authorisation, retiring an SOP version and revoking an API token: pressed
    without the box ticked, nothing changes and the box says why; ticked, it is done."""
    with pg_app.app_context():
        kit = make_lab()
        version = make_sop(kit)
        qualify(kit, version, "examiner", today=timeutil.utcnow().date())
        db.session.commit()
        names = {w: u.username for w, u in kit.users.items()}
        grant = db.session.scalar(select(Authorisation.id).where(
            Authorisation.user_id == kit.users["examiner"].id))
        person_path = f"/quality/people/{kit.users['examiner'].id}"
        version_path, version_id = f"/quality/sop-versions/{version.id}", version.id
        db.session.remove()

    login(page, live_server, names["manager"])
    page.goto(live_server + person_path)
    row = page.locator(f"tr[data-authorisation='{grant}']")
    row.locator("input[name=reason]").fill("Left the section")
    row.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("Tick the box to confirm")
    expect(row.locator("[data-field-error=confirm]")).to_contain_text(
        "Examiner is no longer authorised for FA-06")
    expect(row).to_contain_text("current")
    with pg_app.app_context():
        assert db.session.get(Authorisation, grant).revoked_on is None
        db.session.remove()
    expect(row.locator("input[name=reason]")).to_have_value("Left the section")
    row.locator("input[name=confirm]").check()
    row.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text(f"Authorisation #{grant} revoked from")
    expect(row).to_contain_text("Left the section")
    screenshot(page, "quality-e-authorisation-revoked")

    page.goto(live_server + version_path)
    page.click("#retire-form button[type=submit]")
    expect(_flash(page)).to_contain_text("Tick the box to confirm")
    expect(page.locator(".version-status")).to_have_text("effective")
    with pg_app.app_context():
        assert db.session.get(SopVersion, version_id).status == "effective"
        db.session.remove()
    page.check("#retire-form input[name=confirm]")
    page.click("#retire-form button[type=submit]")
    expect(_flash(page)).to_have_text("FA-06 v1 retired.")
    expect(page.locator(".version-status")).to_have_text("retired")

    page.goto(f"{live_server}/account")
    token = page.locator("form.revoke-token").first
    token_id = int(token.get_attribute("data-token"))
    token.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("Tick the box to confirm")
    with pg_app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
        db.session.remove()
    token = page.locator(f"form.revoke-token[data-token='{token_id}']")
    token.locator("input[name=confirm]").check()
    token.locator("button[type=submit]").click()
    expect(_flash(page)).to_contain_text("revoked.")
    expect(page.locator(f"form.revoke-token[data-token='{token_id}']")).to_have_count(0)
    with pg_app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
        db.session.remove()
