"""Case and item lists that scale: bounded pages in a stable order, validated filters, one
lab's records only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.web import Api, Browser


def _ids(page: str, name: str) -> list[int]:
    return [int(x) for x in re.findall(rf'data-{name}="(\d+)"', page)]


@pytest.fixture
def cases(client, lab, other_lab) -> dict:
    tech = Api(client, lab, "tech")
    mine = [tech.post("/cases", {"submitting_agency": f"Agency {i}", "offence": "Theft"})["id"]
            for i in range(7)]
    theirs = Api(client, other_lab, "tech").post("/cases", {"submitting_agency": "Agency 1"})
    return {"mine": mine, "theirs": theirs["id"]}


def test_case_list_pages_cover_every_case_once(app, lab, cases):
    tech = Browser(app, lab, "tech")
    seen = []
    for n, size in ((1, 3), (2, 3), (3, 1)):
        page = tech.get(f"/cases?per_page=3&page={n}")
        ids = _ids(page, "case")
        assert len(ids) == size
        assert f'data-page="{n}" data-pages="3" data-total="7"' in page
        seen += ids
    assert seen == sorted(cases["mine"], reverse=True)
    assert cases["theirs"] not in seen
    past = tech.get("/cases?per_page=3&page=4")
    assert _ids(past, "case") == [] and "past the last page (3)" in past
    # The default page holds 25; the pager keeps the filter in its links.
    assert len(_ids(tech.get("/cases"), "case")) == 7
    page = tech.get("/cases?q=Agency&per_page=3")
    assert 'href="/cases?q=Agency&amp;page=2&amp;per_page=3"' in page


def test_case_filters(app, lab, cases):
    tech = Browser(app, lab, "tech")
    assert _ids(tech.get("/cases?q=Agency 3"), "case") == [cases["mine"][3]]
    today = datetime.now(UTC).date()
    assert len(_ids(tech.get(f"/cases?opened_from={today}&opened_to={today}"), "case")) == 7
    assert _ids(tech.get(f"/cases?opened_from={today + timedelta(days=1)}"), "case") == []


@pytest.mark.parametrize(("query", "named"), [
    ("per_page=101", "per_page"), ("per_page=0", "per_page"), ("page=-1", "page"),
    ("page=two", "page"), ("opened_from=31/12/2025", "opened_from"),
    ("opened_from=2026-02-02&opened_to=2026-02-01", "opened_to"), ("sort=id", "sort"),
])
def test_a_bad_case_filter_is_refused_naming_it(app, lab, cases, query, named):
    page = Browser(app, lab, "tech").get(f"/cases?{query}", expect=400)
    assert "Invalid filter" in page and f"<strong>{named}</strong>" in page
    # said on the list page, under its filters, and nothing listed (not a guess without them)
    assert 'data-testid="refused-filters"' in page and 'data-testid="case-filters"' in page
    assert 'data-testid="case-list"' not in page and _ids(page, "case") == []


def test_a_refused_filter_is_shown_again_as_typed(app, lab, cases):
    page = Browser(app, lab, "tech").get(
        "/items?q=Glock&opened_from=2026-02-02&opened_to=2026-02-01&kind=firearm", expect=400)
    start = page.index('data-testid="item-filters"')
    form = page[start:page.index("</form>", start)]
    assert 'value="Glock"' in form and 'value="2026-02-02"' in form
    assert 'value="2026-02-01"' in form and '<option value="firearm" selected>' in form
    assert "<strong>opened_to</strong>" in page and 'data-testid="item-list"' not in page


def test_item_list_filters_and_isolation(app, lab, other_lab, client):
    tech = Api(client, lab, "tech")
    case = tech.new_case()
    gun = tech.receive(case["id"], "firearm", make="Glock", serial_number="ZX_9")
    bullet = tech.receive(case["id"], "bullet")
    tech.post(f"/items/{bullet['id']}/transfer", {"to_user_id": lab.id("examiner")})
    other = Api(client, other_lab, "tech")
    theirs = other.receive(other.new_case()["id"], "firearm")
    browser = Browser(app, lab, "tech")
    assert _ids(browser.get("/items"), "item") == [bullet["id"], gun["id"]]
    assert _ids(browser.get("/items?kind=firearm"), "item") == [gun["id"]]
    assert _ids(browser.get("/items?q=zx_9"), "item") == [gun["id"]]
    assert _ids(browser.get("/items?q=ZX%25"), "item") == []  # % is matched literally
    assert _ids(browser.get("/items?holder=me"), "item") == [gun["id"]]
    assert _ids(browser.get("/items?status=in_custody&per_page=1&page=2"), "item") == [gun["id"]]
    assert _ids(browser.get(f"/items?case_id={case['id']}"), "item") == [bullet["id"], gun["id"]]
    assert _ids(browser.get(f"/items?case_id={theirs['case_id']}"), "item") == []
    assert theirs["barcode"] not in browser.get("/items")
    page = browser.get("/items?kind=rifle", expect=400)
    assert "<strong>kind</strong>" in page and "Must be one of" in page


def test_opened_and_received_days_are_the_labs(app, lab, client):
    """The days typed into the filters are the lab's: where the case was opened on another
    calendar day than in UTC, the lab's day finds it and the UTC day does not."""
    from ballistics.evidence.models import Case
    from ballistics.extensions import db
    from tests.support.zones import zone_on_another_day

    tech = Api(client, lab, "tech")
    case = tech.new_case()
    item = tech.receive(case["id"], "bullet")
    utc_day = db.session.get(Case, case["id"]).created_at
    zone, day = zone_on_another_day(utc_day)
    utc_day = utc_day.date()
    lab.lab.time_zone = zone
    db.session.commit()
    browser = Browser(app, lab, "tech")
    page = browser.get(f"/cases?opened_from={day}&opened_to={day}")
    assert _ids(page, "case") == [case["id"]] and f"Opened from (day in {zone})" in page
    assert _ids(browser.get(f"/cases?opened_from={utc_day}&opened_to={utc_day}"), "case") == []
    page = browser.get(f"/items?opened_from={day}&opened_to={day}")
    assert _ids(page, "item") == [item["id"]] and f"Received to (day in {zone})" in page
    assert _ids(browser.get(f"/items?opened_from={utc_day}&opened_to={utc_day}"), "item") == []
