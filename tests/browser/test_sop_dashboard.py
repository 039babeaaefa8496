"""A lab manager in a real browser: dashboard → finding → corrective action → audit export."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ballistics.core.context import acting_as
from ballistics.extensions import db
from sop.services.compliance.engine import refresh_findings
from tests.sop.bulk import seed
from tests.support.browser import login, screenshot
from tests.support.labs import make_lab

pytestmark = pytest.mark.browser


def test_manager_dashboard_finding_action_export(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        seed(kit, examiners=12, examinations=900, days=300)
        with acting_as(kit.users["manager"].id, kit.lab.id, "test"):
            refresh_findings(kit.lab.id)
        db.session.commit()
        manager = kit.users["manager"].username
        db.session.remove()

    login(page, live_server, manager)
    page.click("text=Quality")
    assert page.locator("h1").inner_text() == "Quality dashboard"
    assert page.locator("svg.chart").count() == 2
    assert page.locator(".kpi-value").first.inner_text() == "900"
    screenshot(page, "sop-dashboard")

    # Drill into one finding: the explanation and the records behind it.
    page.select_option("select[name=rule]", "CUSTODY-HELD")
    page.click("form.filters button[type=submit]")
    page.locator("a.finding-link").first.click()
    message = page.locator(".finding-message").inner_text()
    assert message.startswith("Not held by Examiner") and "custody event 3" in message
    assert "custody event no.:" in page.locator("dl.evidence").inner_text()
    screenshot(page, "sop-finding")

    # Open a nonconformity from it and plan the corrective action.
    page.click("#open-nc")
    expect(page.locator(".flash")).to_contain_text("Nonconformity NC-")
    page.select_option("#action-form select[name=kind]", "corrective")
    page.fill("#action-form textarea[name=description]",
              "Brief examiners: items leave the examiner only after the examination is "
              "completed; check custody before completion.")
    page.fill("#action-form input[name=due_on]", (date.today() + timedelta(days=21)).isoformat())
    page.click("#action-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Corrective action planned")
    expect(page.locator("table.actions tbody tr")).to_have_count(1)
    assert page.locator(".nc-status").inner_text() == "actions in progress"
    screenshot(page, "sop-nonconformity")

    # Export the audit report for the period (print HTML) and the CSV.
    page.click("text=Quality")
    page.click("#export-html")
    assert page.locator("h1").inner_text() == "SOP compliance audit report"
    assert "CUSTODY-HELD" in page.content()
    screenshot(page, "sop-export")
    with page.expect_download() as download:
        page.goto(live_server + "/quality/")
        page.click("#export-csv")
    path = download.value.path()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("examination_id,") and len(lines) == 901
