"""The audit viewer in a real browser: a lab manager verifies the log, filters it to one item's
changes and exports them as CSV and PDF."""

from __future__ import annotations

import csv
import io

import pypdf

from ballistics.extensions import db
from tests.support.browser import login, screenshot
from tests.support.labs import make_lab
from tests.support.web import Api


def test_manager_filters_to_one_items_changes_and_exports_them(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        tech = Api(pg_app.test_client(), kit, "tech")
        case_id = tech.new_case()["id"]
        item = tech.receive(case_id, "firearm", make="Glock", serial_number="AUD-1")
        other = tech.receive(case_id, "bullet")
        tech.post(f"/items/{item['id']}/transfer", {"to_user_id": kit.id("examiner"),
                                                    "reason": "for examination"})
        manager = kit.users["manager"].username
        tech_id, examiner_id = kit.id("tech"), kit.id("examiner")
        db.session.remove()
    login(page, live_server, manager)
    page.click("nav >> text=Audit log")
    assert page.locator("[data-testid=chain-state]").get_attribute("data-chain") == "unverified"
    page.click("[data-testid=verify-now]")
    assert "audit entries match their hashes" in page.locator(".flash").first.inner_text()
    assert page.locator("[data-testid=chain-state]").get_attribute("data-chain") == "verified"
    everything = page.locator("[data-testid=audit-entries] tbody > tr[data-entry]").count()

    filters = page.locator("[data-testid=audit-filters]")
    filters.locator("select[name=object_type]").select_option("items")
    filters.locator("input[name=object_id]").fill(str(item["id"]))
    filters.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "object_id=" in url)
    rows = page.locator("[data-testid=audit-entries] tbody > tr[data-entry]")
    records = {rows.nth(i).get_attribute("data-record") for i in range(rows.count())}
    # received (the row written once), handed over
    assert records == {f"items:{item['id']}"} and rows.count() == 2 < everything
    # The hand-over (newest) shows the holder before and after.
    holder = rows.first.locator("tr[data-field=holder_user_id]")
    assert holder.locator(".before").inner_text() == f"{tech_id} (Tech)"
    assert holder.locator(".after").inner_text() == f"{examiner_id} (Examiner)"
    screenshot(page, "audit-viewer-one-item")

    with page.expect_download() as info:
        page.click("[data-testid=export-csv]")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as fh:
        exported = list(csv.DictReader(io.StringIO(fh.read())))
    assert {(r["object_type"], r["object_id"]) for r in exported} == {("items", str(item["id"]))}
    assert {r["action"] for r in exported} == {"insert", "update"}
    assert str(other["id"]) not in {r["object_id"] for r in exported}
    assert any(r["field"] == "holder_user_id" and r["after"] == str(examiner_id)
               for r in exported)

    with page.expect_download() as info:
        page.click("[data-testid=export-pdf]")
    reader = pypdf.PdfReader(info.value.path())
    text = " ".join(p.extract_text() for p in reader.pages)
    assert f"items {item['id']}" in text and "Entries: 2 of 2" in text
