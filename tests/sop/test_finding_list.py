"""The findings list: every finding of the lab on bounded pages, filtered, the lab's only."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from ballistics.extensions import db
from sop.models import Finding
from sop.models.quality import Severity
from sop.services.compliance.registry import all_rules
from tests.sop.scenario import build
from tests.support.labs import make_lab
from tests.support.web import Browser
from tests.support.zones import zone_on_another_day


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-finding="(\d+)"', page)]


def test_findings_list_pages_filters_and_isolation(app):
    kit = make_lab()
    sc = build(kit, break_="CUSTODY-HELD")
    # More findings of the same examination (rows as the compliance engine stores them).
    others = [r.id for r in all_rules() if r.id != "CUSTODY-HELD"][:4]
    db.session.execute(insert(Finding), [
        {"lab_id": kit.lab.id, "examination_id": sc.exam.id, "rule_id": rule,
         "severity": Severity.MINOR, "message": f"test finding {rule}",
         "judged_at": sc.exam.performed_at} for rule in others])
    db.session.commit()
    ids = list(db.session.scalars(select(Finding.id).where(Finding.lab_id == kit.lab.id)))
    assert len(ids) == 5
    manager = Browser(app, kit, "manager")
    assert 'data-testid="all-findings"' in manager.get("/quality/")
    seen = []
    for n, size in ((1, 2), (2, 2), (3, 1)):
        page = manager.get(f"/quality/findings?per_page=2&page={n}")
        assert len(_ids(page)) == size and 'data-pages="3" data-total="5"' in page
        seen += _ids(page)
    assert sorted(seen) == sorted(ids) and seen == sorted(seen, reverse=True)
    page = manager.get("/quality/findings?rule=CUSTODY-HELD")
    assert len(_ids(page)) == 1 and "CUSTODY-HELD" in page
    assert len(_ids(manager.get("/quality/findings?severity=minor"))) == 4
    assert _ids(manager.get(f"/quality/findings?examiner_id={kit.id('examiner2')}")) == []
    page = manager.get("/quality/findings?rule=NO-SUCH", expect=400)
    assert "<strong>rule</strong>" in page and "No such rule." in page
    assert 'data-testid="refused-filters"' in page and _ids(page) == []
    page = manager.get("/quality/findings?start=2026-03-02&end=2026-03-01", expect=400)
    assert "<strong>end</strong>" in page
    # The days filtered on are the lab's: in a zone where the examination fell on another
    # calendar day than in UTC, the lab's day finds its findings and the UTC day none.
    performed_at = sc.exam.performed_at
    zone, day = zone_on_another_day(performed_at)
    kit.lab.time_zone = zone
    db.session.commit()
    page = manager.get(f"/quality/findings?start={day}&end={day}")
    assert sorted(_ids(page)) == sorted(ids) and f"Performed from (day in {zone})" in page
    utc_day = performed_at.date()
    assert _ids(manager.get(f"/quality/findings?start={utc_day}&end={utc_day}")) == []
    # Another lab's manager sees none of them; an examiner may not open the list.
    other = make_lab()
    assert _ids(Browser(app, other, "manager").get("/quality/findings")) == []
    Browser(app, kit, "examiner").get("/quality/findings", expect=403)
