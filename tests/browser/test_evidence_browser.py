"""The evidence flow in a real browser: log in, open a case, receive an item, hand it over, see
it on the timeline, open its label and its court report."""

from __future__ import annotations

from ballistics.extensions import db
from tests.support.browser import ARTIFACTS, login, screenshot
from tests.support.labs import make_lab


def _flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def test_receive_hand_over_label_and_report(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        tech = kit.users["tech"].username
        db.session.remove()
    login(page, live_server, tech)

    page.fill("input[name=submitting_agency]", "Kingston Central Police")
    page.fill("input[name=agency_case_number]", "KCP-2026-117")
    page.fill("input[name=offence]", "Shooting with intent")
    page.click("text=Open case")
    assert "opened" in _flash(page)
    screenshot(page, "evidence-1-case")

    form = page.locator("form[action$='/items']")
    form.locator("select[name=kind]").select_option("firearm")
    form.locator("input[name=from_agency]").fill("Kingston Central Police")
    form.locator("textarea[name=description]").fill("Black semi-automatic pistol, magazine removed")
    form.locator("input[name=make]").fill("Glock")
    form.locator("input[name=model]").fill("17 Gen 4")
    form.locator("input[name=serial_number]").fill("BCXK117")
    form.locator("input[name=calibre]").fill("9mm Luger")
    form.locator("button[type=submit]").click()
    assert "received into your custody" in _flash(page)
    assert page.locator("[data-testid=holder]").inner_text() == "Tech"
    screenshot(page, "evidence-2-received")

    handover = page.locator("form[action$='/transfer']")
    handover.locator("select[name=to_user_id]").select_option(label="Examiner")
    handover.locator("textarea[name=reason]").fill("For examination and test firing")
    handover.locator("button[type=submit]").click()
    assert "transferred, event 2 recorded" in _flash(page)
    last = page.locator("#timeline tbody tr").last
    assert last.get_attribute("data-kind") == "transferred"
    assert "Tech → Examiner" in last.inner_text()
    assert page.locator("[data-chain=verified]").inner_text() == "Chain verified (2 events)"
    assert page.locator("[data-testid=holder]").inner_text() == "Examiner"
    # The technician no longer holds it, so the holder-only actions are gone.
    assert page.locator("form[action$='/transfer']").count() == 0
    screenshot(page, "evidence-flow")

    page.click("text=Label")
    assert page.locator("svg.code128").count() == 1 and page.locator("svg.qr").count() == 1
    screenshot(page, "evidence-3-label")

    page.go_back()
    page.click("text=Court report")
    assert page.locator("h1").inner_text() == "Chain of custody report"
    verdict = page.locator("#verification").inner_text()
    # No witness in this deployment: the report says the chain is consistent, not anchored.
    assert "The chain of 2 events was checked on" in verdict and "not anchored" in verdict
    screenshot(page, "evidence-4-report")
    # The print layout renders to PDF with the browser's own print engine.
    page.emulate_media(media="print")
    screenshot(page, "evidence-5-report-print")
    page.pdf(path=str(ARTIFACTS / "evidence-report.pdf"), format="A4", print_background=True)
    assert (ARTIFACTS / "evidence-report.pdf").stat().st_size > 10_000
