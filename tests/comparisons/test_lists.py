"""The search list and the item page's newest searches: bounded, linked, one lab only."""

from __future__ import annotations

import re

import pytest

from ballistics.comparisons.models import Scan, ScanFormat, Search, SearchStatus
from ballistics.core.context import acting_as
from ballistics.extensions import db
from tests.support.web import Api, Browser


def _searches(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-search="(\d+)"', page)]


def _searched(kit, item_id: int, n: int) -> list[int]:
    """A scan of the item and ``n`` searches of it (rows as the services write them; the
    searches themselves are not run: these tests are about listing them)."""
    with acting_as(kit.id("examiner"), kit.lab.id, "test"):
        scan = Scan(lab_id=kit.lab.id, item_id=item_id, sha256=f"{item_id:064d}",
                    filename="scan.x3p", file_format=ScanFormat.X3P, size_bytes=1, width=1,
                    height=1, pixel_um=1.0, uploaded_by_id=kit.id("examiner"))
        db.session.add(scan)
        db.session.flush()
        rows = [Search(lab_id=kit.lab.id, query_scan_id=scan.id, algorithm_version="test",
                       status=SearchStatus.DONE if i % 2 else SearchStatus.FAILED,
                       is_automatic=i == 0, created_by_id=kit.id("examiner"))
                for i in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


@pytest.fixture
def cartridge(client, lab) -> dict:
    tech = Api(client, lab, "tech")
    return tech.receive(tech.new_case()["id"], "cartridge_case")


def test_item_page_shows_its_newest_searches_and_links_all(app, lab, cartridge):
    ids = _searched(lab, cartridge["id"], 12)
    page = Browser(app, lab, "examiner").get(f"/items/{cartridge['id']}")
    shown = [int(x) for x in re.findall(r'>Search (\d+)</a>', page)]
    assert shown == sorted(ids, reverse=True)[:10]
    assert "The newest 10 of 12 searches are listed." in page
    assert f'href="/searches?item_id={cartridge["id"]}"' in page


def test_search_list_pages_and_filters(app, lab, other_lab, client, cartridge):
    ids = _searched(lab, cartridge["id"], 12)
    other = Api(client, other_lab, "tech")
    theirs = other.receive(other.new_case()["id"], "cartridge_case")
    their_ids = _searched(other_lab, theirs["id"], 2)
    examiner = Browser(app, lab, "examiner")
    all_mine = _searches(examiner.get("/searches"))
    assert all_mine == sorted(ids, reverse=True) and not set(their_ids) & set(all_mine)
    path = f"/searches?item_id={cartridge['id']}&per_page=5"
    pages = [_searches(examiner.get(f"{path}&page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [5, 5, 2] and [i for p in pages for i in p] == all_mine
    assert _searches(examiner.get(f"{path}&page=4")) == []
    failed = _searches(examiner.get("/searches?status=failed"))
    assert len(failed) == 6 and set(failed) < set(ids)
    assert _searches(examiner.get("/searches?automatic=true")) == [ids[0]]
    # Another lab's item is not there to filter on; a bad filter is named.
    examiner.get(f"/searches?item_id={theirs['id']}", expect=404)
    page = examiner.get("/searches?status=running", expect=400)
    assert "<strong>status</strong>" in page
    page = examiner.get("/searches?automatic=maybe", expect=400)
    assert "<strong>automatic</strong>" in page
    # beside the filters, the item filter (valid, but refused with the rest) not looked up
    page = examiner.get(f"/searches?item_id={cartridge['id']}&status=exploded", expect=400)
    assert 'data-testid="refused-filters"' in page and _searches(page) == []
    assert f'value="{cartridge["id"]}"' in page
