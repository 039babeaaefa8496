"""Confirming a lead in a real browser, three people: the manager turns blind verification on
for the shipped FA-09 "Hit confirmation"; the examiner records the microscope comparison; the
reviewer logs in, records their own conclusion before seeing the examiner's, disagrees, then
agrees. No case link exists before the reviewer agreed; the disagreement stays on record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from ballistics.core import timeutil
from ballistics.extensions import db
from sop.services import equipment
from sop.services.library import effective_versions, load_library
from tests.comparisons.helpers import searched_lab
from tests.sop.scenario import as_, qualify
from tests.support.browser import login, screenshot
from tests.support.labs import make_lab
from tests.support.web import Api

pytestmark = pytest.mark.browser


def _prepare(pg_app) -> dict:
    with pg_app.app_context():
        kit = make_lab()
        lead = searched_lab(pg_app.test_client(), kit)
        manager, today = kit.users["manager"], timeutil.utcnow().date()
        with as_(manager):
            load_library(kit.lab, approver=manager)
            microscope = equipment.register(manager, code="MIC-01", kind="comparison_microscope",
                                            name="Leica FSC comparison microscope")
            equipment.record_calibration(manager, microscope, kind="calibration",
                                         performed_on=today - timedelta(days=10),
                                         due_on=today + timedelta(days=355), is_passed=True)
        version = effective_versions(kit.lab.id)["FA-09"]
        for who in ("examiner", "reviewer"):
            qualify(kit, version, who, today=today)
        # The examiner holds both exhibits for the comparison.
        tech = Api(pg_app.test_client(), kit, "tech")
        for item in lead["items"][:2]:
            tech.post(f"/items/{item['id']}/transfer", {"to_user_id": kit.id("examiner")})
        db.session.commit()
        names = {who: kit.users[who].username for who in ("examiner", "reviewer", "manager")}
        steps = [(s.title, s.is_value_required) for s in version.steps]
        db.session.remove()
    cases = [lead["items"][0]["case_id"], lead["items"][1]["case_id"]]
    return {"names": names, "lead": lead, "cases": cases, "steps": steps}


def _flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def _person(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, base, username)
    return context, page


def _linked(page, base: str, case_id: int) -> int:
    page.goto(f"{base}/cases/{case_id}")
    return page.locator("[data-testid=linked-cases] [data-link-status=active]").count()


def test_three_people_confirm_a_lead_with_blind_verification(pg_app, live_server, browser):
    setup = _prepare(pg_app)
    top = setup["lead"]["candidates"][0]
    people = {}
    try:
        # The manager chooses FA-09 and turns blind verification on.
        people["manager"] = _person(browser, live_server, setup["names"]["manager"])
        page = people["manager"][1]
        page.click("text=Comparison settings")
        page.select_option("select[name=confirmation_sop_id]", label="FA-09 · Hit confirmation")
        page.check("input[name=is_blind_verification]")
        page.click("text=Save")
        assert _flash(page) == "Comparison settings saved."

        # The examiner marks the lead and records the comparison at the microscope.
        people["examiner"] = _person(browser, live_server, setup["names"]["examiner"])
        page = people["examiner"][1]
        page.goto(f"{live_server}/candidates/{top}/view")
        page.click("form.decide button[value=potential_lead]")
        form = page.locator("#confirm-form")
        for title, needs_value in setup["steps"]:
            box = form.locator("label", has_text=title)
            if needs_value:
                box.locator("input").fill("20")
            else:
                box.locator("input").check()
        form.locator("select[name=equipment_ids]").select_option(label="MIC-01 · Leica FSC "
                                                                       "comparison microscope")
        form.locator("select[name=conclusion]").select_option("identification")
        form.locator("textarea[name=notes]").fill("Breech-face marks agree in quality and "
                                                  "quantity; firing-pin drag corresponds.")
        form.locator("button[type=submit]").click()
        assert "sent for verification" in _flash(page)
        expect(page.locator("[data-confirmation=awaiting_review]")).to_have_count(1)
        screenshot(page, "confirmation-1-examiner-submitted")
        assert _linked(page, live_server, setup["cases"][0]) == 0

        # The reviewer logs in: the examiner's conclusion is withheld until theirs is recorded.
        people["reviewer"] = _person(browser, live_server, setup["names"]["reviewer"])
        page = people["reviewer"][1]
        page.click("nav >> text=Verifications")
        page.locator("[data-testid=verification-queue] >> text=Verify").first.click()
        conclusion = page.locator("[data-testid=examiner-conclusion]")
        expect(conclusion.locator("[data-testid=conclusion-hidden]")).to_have_count(1)
        assert "Identification" not in conclusion.inner_text()
        assert "agree in quality" not in page.content()
        assert page.locator("#review-form").count() == 0
        assert page.locator("img[data-frame]").count() == 2  # the two scans, aligned
        screenshot(page, "confirmation-2-blind")
        page.select_option("#conclusion-form select[name=result]", "inconclusive_a")
        page.fill("#conclusion-form textarea[name=notes]", "Agreement, but not sufficient.")
        page.click("text=Record my conclusion")
        assert "Your conclusion is recorded" in _flash(page)
        assert conclusion.inner_text().startswith("Identification")

        # They disagree: no link, and both records stay.
        page.fill("#review-form textarea[name=reasons]", "I see agreement, not sufficient "
                  "for an identification.")
        page.click("#review-form button[value=disagree]")
        assert _flash(page) == "Review recorded: you disagree. Both records are kept."
        history = page.locator("[data-testid=review-history]")
        expect(history.locator("[data-kind=conclusion]")).to_have_count(1)
        expect(history.locator("[data-kind=review][data-outcome=disagree]")).to_have_count(1)
        assert _linked(people["examiner"][1], live_server, setup["cases"][0]) == 0

        # After comparing together, they agree: only now are the cases linked.
        page.goto(f"{live_server}/verifications")
        page.locator("[data-testid=verification-queue] >> text=Verify").first.click()
        page.fill("#review-form textarea[name=reasons]", "Re-examined with the examiner: the "
                  "agreement persists across the breech face.")
        page.click("#review-form button[value=agree]")
        assert "the cases are linked" in _flash(page)
        outcomes = history.locator("[data-kind=review]").evaluate_all(
            "l => l.map(e => e.dataset.outcome)")
        assert outcomes == ["disagree", "agree"]
        screenshot(page, "confirmation-3-verified")
        for case_id in setup["cases"]:
            assert _linked(people["manager"][1], live_server, case_id) == 1
        page = people["manager"][1]
        assert "agreed with" in page.locator("[data-testid=link-history]").first.inner_text()
        screenshot(page, "confirmation-flow")
    finally:
        for context, _ in people.values():
            context.close()
