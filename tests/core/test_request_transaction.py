"""One transaction per request: services only flush, the request commits once on success and
rolls back on any exception, whatever status the error page carries (Indico's rule)."""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ballistics.audit.models import AuditEntry
from ballistics.evidence import api as evidence_api
from ballistics.evidence.models import Case
from ballistics.extensions import db
from tests.support.web import Api

CASE = {"submitting_agency": "Central Police", "agency_case_number": "CP-9", "offence": "Theft"}


def _written(lab) -> tuple[int, int]:
    """This lab's cases and audit entries."""
    return (db.session.scalar(select(func.count(Case.id)).where(Case.lab_id == lab.lab.id)),
            db.session.scalar(select(func.count(AuditEntry.id))
                              .where(AuditEntry.chain_key == lab.lab.id)))


def test_a_request_commits_once_after_its_service_flushed(app, client, lab):
    mine = db.session()  # the test's own session: the client commits it before each request
    commits: list[Session] = []

    def count(session: Session) -> None:
        if session is not mine:
            commits.append(session)

    before = _written(lab)
    event.listen(Session, "after_commit", count)
    try:
        case = Api(client, lab, "tech").new_case()
    finally:
        event.remove(Session, "after_commit", count)
    assert len(commits) == 1, commits
    cases, entries = _written(lab)
    assert cases == before[0] + 1 and entries > before[1]
    assert db.session.get(Case, case["id"]).agency_case_number == "CP-1"


def test_an_exception_after_the_service_flushed_saves_nothing(app, client, lab, monkeypatch):
    flushed: list[int] = []
    real = evidence_api.create_case

    def open_then_fail(actor, **data):
        flushed.append(real(actor, **data).id)  # the row exists in the request's transaction
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(evidence_api, "create_case", open_then_fail)
    before = _written(lab)
    response = client.post("/api/v1/cases", json=CASE, headers=lab.headers("tech"))
    assert response.status_code == 500, response.get_json()
    assert response.get_json()["error"] == "internal_error"
    assert "nothing was saved" in response.get_json()["message"]
    assert len(flushed) == 1 and flushed[0] is not None
    # Neither the case nor its audit entry was committed.
    assert _written(lab) == before
    assert db.session.get(Case, flushed[0]) is None
