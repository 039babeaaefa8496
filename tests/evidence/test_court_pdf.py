"""Acceptance (issue 14, item 3): the court chain-of-custody report as a PDF generated on the
server. Opened with a PDF library (pypdf), it holds every custody event, the verification
sentence, the witnessed checkpoint, "page N of M" on every page and a footer digest that the
lab's kept data reproduces."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError

from ballistics.audit.models import AuditEntry
from ballistics.evidence.models import CourtReport, CustodyEvent
from ballistics.evidence.reports import fmt_utc
from ballistics.extensions import db
from tests.evidence.helpers import tamper_reason
from tests.ledger.support import InProcessWitness
from tests.support.services import REPO
from tests.support.web import Api, Browser

DIGEST = re.compile(r"Report data SHA-256: ([0-9a-f]{64})")


@pytest.fixture
def witness(app, tmp_path):
    w = InProcessWitness(app, tmp_path / "witness")
    yield w
    w.unregister()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _pdf(browser: Browser, item_id: int, keep: str = "") -> tuple[PdfReader, list[str], object]:
    response = browser.client.get(f"/items/{item_id}/report.pdf")
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    if keep:  # kept with the browser screenshots, for a person to look at
        (REPO / "test-artifacts").mkdir(exist_ok=True)
        (REPO / "test-artifacts" / keep).write_bytes(response.data)
    reader = PdfReader(io.BytesIO(response.data))
    return reader, [page.extract_text() or "" for page in reader.pages], response


def _events(item_id: int) -> list[CustodyEvent]:
    db.session.expire_all()
    return db.session.scalars(select(CustodyEvent).where(CustodyEvent.item_id == item_id)
                              .order_by(CustodyEvent.seq)).all()


def _handled(client, lab, transfers: int) -> dict:
    """A firearm received, handed between technician and examiner ``transfers`` times (each
    with its own reason), then sealed by its holder."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "firearm", make="Glock", model="17",
                        serial_number="BCXK117", calibre="9mm Luger")
    people = [("tech", "examiner"), ("examiner", "tech")]
    for n in range(transfers):
        giver, taker = people[n % 2]
        tech.as_(giver).post(f"/items/{item['id']}/transfer", {
            "to_user_id": lab.id(taker), "reason": f"hand-over number {n + 1} for examination"})
    holder = people[transfers % 2][0]
    tech.as_(holder).post(f"/items/{item['id']}/seal", {"seal_number": "S-77"})
    return item


def test_pdf_holds_every_event_the_verification_and_page_numbers(app, client, lab, other_lab):
    item = _handled(client, lab, transfers=30)  # enough events for several pages
    tech = Browser(app, lab, "tech")
    reader, pages, response = _pdf(tech, item["id"], "court-report-32-events.pdf")
    text = _flat("\n".join(pages))
    events = _events(item["id"])
    assert len(events) == 32
    total = len(reader.pages)
    assert total >= 2, "32 events should not fit one A4 page"
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {total}" in _flat(page), number
    # Identification of the case and item.
    assert "Chain of custody report" in text and item["barcode"] in text
    assert lab.lab.name in text and "Glock 17" in text and "BCXK117" in text
    # Every custody event: time, action, person who recorded it, from/to, reason, hash.
    names = {u.id: u.full_name for u in lab.users.values()}
    for e in events:
        assert fmt_utc(e.occurred_at) in text, e.seq
        assert e.kind.replace("_", " ") in text
        assert names[e.actor_id] in text and e.hash in text
        if e.reason:
            assert e.reason in text, e.seq
    # The verification sentence, word for word as the lab's data states it.
    digest = DIGEST.search(text).group(1)
    assert response.headers["X-Report-SHA256"] == digest
    data = tech.client.get(f"/court-reports/{digest}.json")
    assert data.status_code == 200 and hashlib.sha256(data.data).hexdigest() == digest
    stored = json.loads(data.data)
    # The same bytes from the CLI at the lab's server, which recomputes the digest first.
    cli = app.test_cli_runner().invoke(args=["evidence", "report-data", digest])
    assert cli.exit_code == 0, cli.output
    assert cli.stdout.rstrip("\n").encode() == data.data and "(matches)" in cli.stderr
    missing = app.test_cli_runner().invoke(args=["evidence", "report-data", "0" * 64])
    assert missing.exit_code != 0 and "No court report" in missing.output
    statement = stored["verification"]["statement"]
    assert statement.startswith("The chain of 32 events was checked on")
    assert "It is not anchored" in statement  # no witness here: the report must not claim more
    assert _flat(statement) in text
    assert "Chain consistent, NOT witnessed (32 events)" in text
    assert [e["hash"] for e in stored["events"]] == [e.hash for e in events]
    for row in stored["events"]:  # from and to of each event, as named in the data
        assert _flat(row["from"]) in text and _flat(row["to"]) in text
    assert [(r["from"], r["to"]) for r in stored["events"][1:3]] == [
        ("Tech", "Examiner"), ("Examiner", "Tech")]
    # Every page's footer carries the same digest; the PDF explains what it covers.
    assert all(DIGEST.search(_flat(p)).group(1) == digest for p in pages)
    assert "About this document and its hash" in text and "canonical JSON" in text
    assert f"/court-reports/{digest}.json" in text.replace(" ", "")
    # The issue is audited with its digest; another lab cannot fetch the data or the PDF.
    db.session.expire_all()
    read = db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "items", AuditEntry.object_id == str(item["id"]),
        AuditEntry.action == "read")).all()
    assert [r.after.get("sha256") for r in read] == [digest]
    assert db.session.scalar(select(CourtReport.item_id).where(CourtReport.sha256 == digest)) \
        == item["id"]
    # The kept data cannot be changed, not even by plain SQL as the application.
    for sql in ("UPDATE court_reports SET data = '{}' WHERE sha256 = :d",
                "DELETE FROM court_reports WHERE sha256 = :d"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sql_text(sql), {"d": digest})
        db.session.rollback()
    theirs = Browser(app, other_lab, "manager")
    theirs.get(f"/court-reports/{digest}.json", expect=404)
    theirs.get(f"/items/{item['id']}/report.pdf", expect=404)


def test_pdf_of_a_witnessed_chain_states_the_checkpoint(app, client, lab, witness):
    witness.trust(lab.lab.id)
    item = _handled(client, lab, transfers=1)
    tech = Browser(app, lab, "tech")
    reader, pages, _ = _pdf(tech, item["id"], "court-report-witnessed.pdf")
    text = _flat("\n".join(pages))
    total = len(reader.pages)
    assert all(f"Page {n} of {total}" in _flat(p) for n, p in enumerate(pages, 1))
    assert "Chain verified and witnessed (3 events)" in text
    assert "cosigned by the independent witness witness.test/w1" in text
    assert "No event has been altered, removed or reordered since that witness" in text
    assert re.search(r"Checkpoint of the laboratory's custody log: [\d,]+ entries, signed "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; cosigned by witness.test/w1 on", text)
    for e in _events(item["id"]):
        assert fmt_utc(e.occurred_at) in text and e.hash in text
    # Text search sees the hash of the data, and the data names the checkpoint too.
    digest = DIGEST.search(text).group(1)
    data = json.loads(tech.client.get(f"/court-reports/{digest}.json").data)
    assert data["checkpoint"]["cosigned_by"][0][0] == "witness.test/w1"
    assert data["verification"]["state"] == "witnessed"


def test_pdf_of_a_tampered_chain_says_broken(app, client, lab):
    item = _handled(client, lab, transfers=1)
    tech = Browser(app, lab, "tech")
    assert f"/items/{item['id']}/report.pdf" in tech.get(f"/items/{item['id']}")
    tamper_reason(_events(item["id"])[1].id)
    _, pages, _ = _pdf(tech, item["id"])
    text = _flat("\n".join(pages))
    assert "Chain BROKEN at event 2" in text
    assert "is BROKEN at event 2" in text and "the laboratory must investigate" in text
    assert "nothing to see" in text  # the altered record is printed as it now stands
    assert "No event has been altered" not in text


@pytest.mark.parametrize(("lang", "events", "entries"), [
    ("en", "Chain verified (12,345 events)", "12,345 entries"),
    ("es", "Cadena verificada (12.345 eventos)", "12.345 entradas")])
def test_report_counts_are_written_as_the_reader_writes_numbers(sqlite_app, lang, events,
                                                                 entries):
    """A long chain's and a checkpoint's counts with the reader's grouping (the page, the PDF
    and its footer share ballistics.core.numbers), not bare digits."""
    from ballistics.evidence import court_pdf, reports
    from ballistics.evidence.chain import ChainVerification

    with sqlite_app.test_request_context(headers={"Accept-Language": lang}):
        assert reports.badge(ChainVerification(ok=True, events=12345)) == events
        cp = {"entries": 12345, "signed_at": "2026-03-02 10:00:00 UTC", "cosigned_by": []}
        paragraph = court_pdf._ledger({"checkpoint": cp, "proof_checks": ""},
                                      court_pdf._styles())[1]
        assert entries in paragraph.text


def test_pdf_continues_an_event_taller_than_a_page(app, client, lab):
    """A hand-over whose reason runs to 150 lines (2,000 characters are allowed) is taller
    than a page: the report continues it on the next one instead of failing with a 500."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case")
    reason = "\n".join(f"seal {n}" for n in range(1, 151))
    tech.post(f"/items/{item['id']}/transfer", {"to_user_id": lab.id("examiner"),
                                                 "reason": reason})
    _, pages, _ = _pdf(Browser(app, lab, "examiner"), item["id"])
    text = " ".join(pages)
    assert "seal 1\n" in text and "seal 150" in text


def test_spanish_pdf_names_the_kind_status_and_holder_in_spanish(app, client, lab):
    """The court report filed by a Spanish-reading examiner named the kind 'firearm' and the
    status 'in custody; en poder de Storage SHELF-1': stored codes, not the reader's words."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "firearm")
    tech.post(f"/items/{item['id']}/store", {"location_id": lab.location_id})
    web = Browser(app, lab, "examiner")
    web.client.set_cookie("lang", "es")
    _, pages, _ = _pdf(web, item["id"])
    text = _flat(" ".join(pages))
    assert "arma de fuego \u00d7 1" in text and "en custodia; en poder de Depósito SHELF-1" in text
    assert "firearm" not in text and "in custody" not in text


def test_spanish_pdf_states_event_facts_and_sub_item_chains_in_spanish(app, client, lab):
    """A Spanish court report printed an event's kept facts with their stored English keys and
    database ids ('seal number: S-9', 'sub item barcode: …, sub item id: 17'), a sub-item's
    chain as 'verified, 1 events' and a one-event history as '(1 eventos)'."""
    tech = Api(client, lab, "tech")
    gun = tech.receive(tech.new_case()["id"], "firearm")
    child = tech.post(f"/items/{gun['id']}/sample", {"kind": "test_fire"})
    tech.post(f"/items/{gun['id']}/seal", {"seal_number": "S-9"})
    web = Browser(app, lab, "examiner")
    web.client.set_cookie("lang", "es")
    _, pages, _ = _pdf(web, gun["id"])
    text = _flat(" ".join(pages))
    assert "número de sello: S-9" in text and f"subindicio: {child['barcode']}" in text
    assert "verificada, 1 evento" in text
    for english in ("seal number", "sub item", "verified, 1 events"):
        assert english not in text, english
    assert f"sub_item_id: {child['id']}" not in text and "id:" not in text
    _, pages, _ = _pdf(web, child["id"])
    text = _flat(" ".join(pages))
    assert "Historial de custodia (1 evento)" in text
    assert f"tomado de: {gun['barcode']}" in text
    # the page shows the same words as the report
    page = web.get(f"/items/{gun['id']}")
    assert "número de sello: S-9" in page and "sub item" not in page
