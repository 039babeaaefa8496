"""Search rules, run in-process (the worker tests cover the same services over a broker)."""

from __future__ import annotations

from ballistics.comparisons import scans, searches
from ballistics.comparisons.models import Scan, ScanStatus
from ballistics.core.context import acting_as
from ballistics.extensions import db
from tests.comparisons.helpers import run_search_inline, upload, x3p_bytes
from tests.support.web import Api


def _scan(client, kit, gun: int, shot: int, **fields) -> Scan:
    tech = Api(client, kit, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case")
    body = upload(client, kit.headers("examiner"), item["id"], x3p_bytes(gun, shot), **fields)
    assert body.status_code == 201, body.get_json()
    scan = db.session.get(Scan, body.get_json()["id"])
    with acting_as(None, kit.lab.id, "test"):
        scans.compute_features(scan)
        scans.mark(scan, ScanStatus.DONE)
    db.session.commit()
    return scan


def _run(kit, query: Scan) -> list[int]:
    with acting_as(kit.id("examiner"), kit.lab.id, "test"):
        search = searches.start_search(kit.users["examiner"], query, k=10)
        run_search_inline(search)
    db.session.commit()
    return [c.reference_scan_id for c in search.candidates]


def test_references_are_filtered_by_lab_calibre_and_open_case(app, client, lab, other_lab):
    query = _scan(client, lab, 0, 0)
    mate = _scan(client, lab, 0, 1)
    closed_mate = _scan(client, lab, 0, 2, open_case="false")
    other_calibre = _scan(client, lab, 0, 1, calibre=".45 ACP")
    stranger = _scan(client, lab, 3, 0)
    foreign_mate = _scan(client, other_lab, 0, 1)
    ranked = _run(lab, query)
    assert ranked[0] == mate.id
    assert stranger.id in ranked
    for excluded in (closed_mate, other_calibre, foreign_mate, query):
        assert excluded.id not in ranked


def test_stage_2_reads_the_query_once_per_process_and_search(app, client, lab):
    from tests.comparisons.index_refs import statements

    query, mate, stranger = (_scan(client, lab, g, s) for g, s in [(0, 0), (0, 1), (3, 0)])
    with acting_as(lab.id("examiner"), lab.lab.id, "test"):
        found, reads = [], []
        for scan in (query, query, mate):
            search = searches.start_search(lab.users["examiner"], scan, k=10)
            db.session.commit()
            for ref in (mate if scan is query else query, stranger):
                db.session.expire_all()
                with statements() as seen:
                    found.append(searches.compare_chunk(search.id, [(ref.id, 0.5)])[0])
                reads.append(sum("feature_sets.data" in s for s in seen))
        db.session.rollback()
    # The first chunk reads the query's features and its reference's, the next chunk its
    # reference's only; so does a second search of the same scan (the features are the
    # scan's); a search of another scan reads its own query once.
    assert reads == [2, 1, 1, 1, 2, 1], reads
    assert found[0]["score"] == found[2]["score"] > found[1]["score"] == found[3]["score"]
