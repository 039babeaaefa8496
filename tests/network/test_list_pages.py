"""The network's lists that grow for ever (who looked, leads, exhibit transfers) come in pages,
newest first, as /cases does: ``limit`` (default 50, at most 500) rows after ``offset``."""

from __future__ import annotations

from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.network.models import AccessKind, NetworkAccess


def _accesses(lab_id: int, n: int, first_event: int) -> list[int]:
    rows = [NetworkAccess(lab_id=lab_id, hub_event_id=first_event + i, kind=AccessKind.SEARCH,
                          partner_code="PTR", references=[f"ref-{i}"], occurred_at=utcnow())
            for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def test_who_looked_comes_in_pages_newest_first(client, lab, other_lab):
    ours = _accesses(lab.lab.id, 7, 1)
    _accesses(other_lab.lab.id, 2, 1)
    headers = lab.headers("manager")

    def page(query: str) -> list[int]:
        r = client.get(f"/api/v1/network/accesses{query}", headers=headers)
        assert r.status_code == 200, r.get_json()
        return [a["id"] for a in r.get_json()]

    newest_first = sorted(ours, reverse=True)
    assert page("") == newest_first  # fewer than a page
    assert page("?limit=3") == newest_first[:3]
    assert page("?limit=3&offset=3") == newest_first[3:6]
    assert page("?limit=3&offset=6") == newest_first[6:]
    assert page("?offset=7") == []

    for bad, field in (("?limit=0", "limit"), ("?limit=501", "limit"), ("?offset=-1", "offset"),
                       ("?limit=ten", "limit")):
        r = client.get(f"/api/v1/network/accesses{bad}", headers=headers)
        assert r.status_code == 422 and field in r.get_json()["fields"], (bad, r.get_json())
    assert client.get("/api/v1/network/accesses?limit=2",
                      headers=lab.headers("examiner")).status_code == 403


def test_leads_and_transfers_take_the_same_page_parameters(client, lab):
    for path in ("/network/leads", "/exhibit-transfers"):
        ok = client.get(f"/api/v1{path}?limit=5&offset=0", headers=lab.headers("examiner"))
        assert ok.status_code == 200 and ok.get_json() == []
        bad = client.get(f"/api/v1{path}?limit=1000", headers=lab.headers("examiner"))
        assert bad.status_code == 422 and "limit" in bad.get_json()["fields"]
