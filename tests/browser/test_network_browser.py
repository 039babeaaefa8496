"""The regional network in a real browser: on lab B's node an examiner runs a partner search
and asks lab A about the top candidate; on lab A's node an examiner opens the lead and
discloses; lab B sees the disclosure. A hub and two nodes as separate process groups."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.comparisons.helpers import wait_for
from tests.network.cluster import cluster
from tests.network.test_regional import _hub_records, _scan
from tests.support.browser import login, screenshot

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


def test_partner_search_and_lead_in_the_browser(browser, tmp_path):
    with cluster(tmp_path) as net:
        hub, lab_a, lab_b = net["HUB"], net["LABA"], net["LABB"]
        for shot in (0, 1):
            _scan(lab_a, 51, shot)
        _scan(lab_a, 52, 0)
        lab_a.api("PUT", "/network/policy", "manager", json={"mode": "all"})
        wait_for(lambda: _hub_records(hub, "LABA"), lambda rows: len(rows) == 3)
        query = _scan(lab_b, 51, 2)
        item_b = lab_b.api("GET", f"/scans/{query['id']}")["item_id"]

        b = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        b.set_default_timeout(30000)
        login(b, lab_b.url, lab_b.usernames["examiner"])
        b.goto(f"{lab_b.url}/items/{item_b}")
        b.get_by_role("button", name="Search the region").click()
        b.wait_for_url("**/network/searches/*")
        rows = b.locator("[data-testid=partner-candidates] tbody tr[data-record]")
        expect(rows.first).to_be_visible(timeout=120000)
        expect(rows.first).to_contain_text("LABA")
        screenshot(b, "network-partner-search")
        rows.first.get_by_role("textbox").fill("Same pistol as our shooting?")
        rows.first.get_by_role("button", name="Ask LABA").click()
        b.wait_for_url("**/network/leads/*")
        expect(b.locator("[data-lead-status]")).to_have_text("open")
        lead_url = b.url

        lab_b.task("network.deliver")
        lab_a.task("network.pull")
        a = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        a.set_default_timeout(30000)
        login(a, lab_a.url, lab_a.usernames["examiner"])
        a.goto(f"{lab_a.url}/network")
        incoming = a.locator("[data-testid=incoming-leads] tbody tr").first
        expect(incoming).to_contain_text("LABB")
        incoming.get_by_role("link").click()
        expect(a.locator("dl.facts")).to_contain_text("Same pistol as our shooting?")
        a.select_option("select[name=status]", "disclosed")
        a.fill("textarea[name=answer]", "Call Duarte at LABA, our case BP-51-0")
        a.get_by_role("button", name="Send answer").click()
        expect(a.locator("[data-lead-status]")).to_have_text("disclosed")
        screenshot(a, "network-lead-disclosed")

        lab_a.task("network.deliver")
        lab_b.task("network.pull")
        b.goto(lead_url)
        expect(b.locator("[data-lead-status]")).to_have_text("disclosed")
        expect(b.locator("[data-testid=lead-answer]")).to_contain_text("BP-51-0")
        a.context.close()
        b.context.close()
