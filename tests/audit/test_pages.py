"""The audit log viewer: managers only, one lab's entries only, filters, before/after, pages,
the CSV export and the verification state of the lab's log."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import pytz
from sqlalchemy import func, select, text

from ballistics.audit.models import AuditEntry
from ballistics.core.timeutil import canonical
from ballistics.extensions import db
from ballistics.ledger.sealer import seal_all
from tests.ledger.support import without_triggers
from tests.support.web import Api, Browser
from tests.support.zones import local_day, zone_on_another_day


def _entry_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-entry="(\d+)"', page)]


@pytest.fixture
def moved(client, lab) -> dict:
    """A firearm received by the technician and handed to the examiner (an update of the item:
    its holder before and after)."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "firearm", make="Glock", serial_number="AB123")
    tech.post(f"/items/{item['id']}/transfer", {"to_user_id": lab.id("examiner"),
                                                "reason": "examination"})
    return item


def test_only_a_lab_manager_reads_the_log(app, lab, moved):
    for who in ("tech", "examiner", "reviewer", "admin"):
        page = Browser(app, lab, who).get("/audit", expect=403)
        assert "read the audit log" in page
        Browser(app, lab, who).get("/audit/export.csv", expect=403)
    page = Browser(app, lab, "manager").get("/audit")
    assert 'data-testid="audit-entries"' in page and f"items {moved['id']}" in page
    # The item page links its own entries for a manager only.
    link = f'href="/audit?object_type=items&amp;object_id={moved["id"]}"'
    assert link in Browser(app, lab, "manager").get(f"/items/{moved['id']}")
    assert link not in Browser(app, lab, "examiner").get(f"/items/{moved['id']}")


def test_a_manager_sees_only_their_own_labs_entries(app, lab, other_lab, client, moved):
    theirs = Api(client, other_lab, "tech")
    other_item = theirs.receive(theirs.new_case()["id"], "bullet")
    mine = Browser(app, lab, "manager")
    ids = set(_entry_ids(mine.get("/audit?per_page=100")))
    own = set(db.session.scalars(select(AuditEntry.id).where(
        AuditEntry.chain_key == lab.lab.id)))
    assert ids and ids <= own
    # Asking for the other lab's item by its id finds nothing, on the page and in the export.
    page = mine.get(f"/audit?object_type=items&object_id={other_item['id']}")
    assert _entry_ids(page) == [] and "No entry matches these filters." in page
    assert other_item["barcode"] not in page
    body = mine.client.get(f"/audit/export.csv?object_type=items&object_id={other_item['id']}")
    rows = list(csv.reader(io.StringIO(body.text)))
    assert rows[0][0] == "id" and len(rows) == 1
    # ... and the other lab's manager does not see this lab's item.
    page = Browser(app, other_lab, "manager").get(
        f"/audit?object_type=items&object_id={moved['id']}")
    assert _entry_ids(page) == []


def test_filters_to_one_items_changes_with_before_and_after(app, lab, moved):
    manager = Browser(app, lab, "manager")
    page = manager.get(f"/audit?object_type=items&object_id={moved['id']}")
    records = set(re.findall(r'data-record="([^"]+)"', page))
    assert records == {f"items:{moved['id']}"}
    actions = re.findall(r'data-action="(\w+)"', page)
    # received (the row written once, held by the receiver), handed over (newest first)
    assert actions == ["update", "insert"]
    # The hand-over's entry shows the holder before (the technician) and after (the examiner).
    update = page.split('data-action="update"', 1)[1].split("</tr>\n    <tr data-entry", 1)[0]
    holder = update.split('data-field="holder_user_id"', 1)[1].split("</tr>", 1)[0]
    assert f'class="before">{lab.id("tech")} (Tech)<' in holder
    assert f'class="after">{lab.id("examiner")} (Examiner)<' in holder
    # By action and by person.
    page = manager.get(f"/audit?object_type=items&object_id={moved['id']}&action=update")
    assert re.findall(r'data-action="(\w+)"', page) == ["update"]
    page = manager.get(f"/audit?actor_id={lab.id('examiner')}")
    assert _entry_ids(page) == []
    page = manager.get(f"/audit?actor_id={lab.id('tech')}&object_type=custody_events")
    assert len(_entry_ids(page)) == 2  # received, transferred
    # By date: today holds them, tomorrow nothing.
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    page = manager.get(f"/audit?object_type=items&object_id={moved['id']}"
                       f"&date_from={today - timedelta(days=1)}&date_to={today}")
    assert len(_entry_ids(page)) == 2
    assert _entry_ids(manager.get(f"/audit?date_from={tomorrow}")) == []


def test_times_and_filter_days_are_the_labs(app, lab, moved):
    """The page shows each time in the lab's zone, named, and the days a manager filters on
    are the lab's days: where the item's entries fall on another calendar day than in UTC, the
    lab's day finds them and the UTC day does not. The CSV keeps its UTC times."""
    stamps = db.session.scalars(select(AuditEntry.created_at).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.object_type == "items",
        AuditEntry.object_id == str(moved["id"]))).all()
    zone, day = zone_on_another_day(stamps[0])
    assert len(stamps) == 2 and {local_day(ts, zone) for ts in stamps} == {day}
    lab.lab.time_zone = zone
    db.session.commit()
    manager = Browser(app, lab, "manager")
    query = f"object_type=items&object_id={moved['id']}"
    page = manager.get(f"/audit?{query}&date_from={day}&date_to={day}")
    assert len(_entry_ids(page)) == 2
    assert f"From (day in {zone})" in page and "UTC" not in page
    cells = re.findall(r'<td class="nowrap" data-utc="([^"]+)">([^<]+)</td>', page)
    assert len(cells) == 2
    for stored, shown in cells:
        local = pytz.utc.localize(datetime.fromisoformat(stored)).astimezone(
            pytz.timezone(zone))
        assert shown.endswith(zone) and f"{local:%b} {local.day}, {local:%Y}" in shown, shown
        assert f"{local.hour % 12 or 12}:{local:%M:%S}" in shown, (stored, shown)
    utc_day = stamps[0].date()
    assert _entry_ids(manager.get(f"/audit?{query}&date_from={utc_day}&date_to={utc_day}")) == []
    body = manager.client.get(f"/audit/export.csv?{query}&date_from={day}&date_to={day}").text
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["created_at_utc"] for r in rows} == {canonical(ts) for ts in stamps}
    body = manager.client.get(f"/audit/export.csv?{query}&date_from={utc_day}"
                              f"&date_to={utc_day}").text
    assert list(csv.DictReader(io.StringIO(body))) == []


@pytest.mark.parametrize(("query", "named"), [
    ("action=explode", "action"), ("date_from=yesterday", "date_from"),
    ("date_from=2026-05-02&date_to=2026-05-01", "date_to"), ("per_page=1000", "per_page"),
    ("page=0", "page"), ("actor_id=abc", "actor_id"), ("object_id=7", "object_type"),
    ("colour=red", "colour"),
])
def test_a_bad_filter_is_refused_naming_it(app, lab, query, named):
    manager = Browser(app, lab, "manager")
    page = manager.get(f"/audit?{query}", expect=400)
    assert "Invalid filter" in page and f"<strong>{named}</strong>" in page
    assert 'data-testid="refused-filters"' in page and "data-entry=" not in page
    # an export has no form to say it beside: the refusal is the answer, nothing exported
    refused = manager.get(f"/audit/export.csv?{query}", expect=400)
    assert "Invalid filter" in refused and named in refused


def test_pages_cover_the_log_once_in_a_stable_order(app, lab, moved, client):
    tech = Api(client, lab, "tech")
    for _ in range(3):
        tech.new_case()
    manager = Browser(app, lab, "manager")
    total = db.session.scalar(select(func.count(AuditEntry.id))
                              .where(AuditEntry.chain_key == lab.lab.id))
    pages = -(-total // 4)
    seen = []
    for n in range(1, pages + 1):
        page = manager.get(f"/audit?per_page=4&page={n}")
        ids = _entry_ids(page)
        assert len(ids) == (4 if n < pages else total - 4 * (pages - 1))
        assert f'data-page="{n}" data-pages="{pages}" data-total="{total}"' in page
        assert ('rel="next"' in page) == (n < pages) and ('rel="prev"' in page) == (n > 1)
        seen += ids
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == total
    past = manager.get(f"/audit?per_page=4&page={pages + 1}")
    assert _entry_ids(past) == [] and "past the last page" in past


def test_csv_export_holds_the_filtered_changes(app, lab, client):
    tech = Api(client, lab, "tech")
    # A value a spreadsheet would run as a formula is written as text.
    case = tech.post("/cases", {"submitting_agency": "=HYPERLINK(\"x\")", "offence": "Theft"})
    item = tech.receive(case["id"], "bullet")
    manager = Browser(app, lab, "manager")
    response = manager.client.get(f"/audit/export.csv?object_type=cases&object_id={case['id']}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and {r["object_type"] for r in rows} == {"cases"}
    assert {r["object_id"] for r in rows} == {str(case["id"])}
    fields = {r["field"]: r for r in rows}
    assert fields["submitting_agency"]["after"] == "'=HYPERLINK(\"x\")"
    assert fields["offence"]["after"] == "Theft" and fields["offence"]["before"] == ""
    assert {r["action"] for r in rows} == {"insert"} and {r["actor"] for r in rows} == {"Tech"}
    assert item["barcode"] not in response.text
    # The export is itself on the record.
    db.session.expire_all()
    last = db.session.scalars(select(AuditEntry).where(AuditEntry.chain_key == lab.lab.id)
                              .order_by(AuditEntry.id.desc())).first()
    assert (last.action, last.object_id) == ("read", "export:csv")
    assert last.after["filters"] == {"object_type": "cases", "object_id": str(case["id"])}
    assert last.actor_id == lab.id("manager")


def test_printable_page_lists_the_filtered_entries(app, lab, moved):
    page = Browser(app, lab, "manager").get(
        f"/audit/print?object_type=items&object_id={moved['id']}")
    assert "Audit log extract" in page and 'data-testid="print-count">2 of 2' in page
    assert set(re.findall(r'data-record="([^"]+)"', page)) == {f"items:{moved['id']}"}


def test_the_verification_state_of_the_labs_log_is_shown(app, lab, moved):
    manager = Browser(app, lab, "manager")
    page = manager.get("/audit")
    assert 'data-chain="unverified"' in page and "has not been verified" in page
    Browser(app, lab, "examiner").post("/audit/verify", {}, expect=403)
    _, page, flashes = manager.submit("/audit/verify", {})
    assert flashes[0][0] == "success" and "audit entries match their hashes" in flashes[0][1]
    assert 'data-chain="verified"' in page and "Last full verification" in page
    seal_all(lab.lab.id)
    _, page, flashes = manager.submit("/audit/verify", {})
    assert 'data-chain="verified"' in page and "entries verified" in flashes[0][1]
    assert "Ledger: " in page and "entries sealed." in page
    # The verification is on record in the lab's own log.
    db.session.expire_all()
    last = db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.object_type == "audit_verification")
        .order_by(AuditEntry.id.desc())).first()
    assert last.after["ok"] is True and last.actor_id == lab.id("manager")
    # Someone with database access edits an entry: the next verification says so, and the
    # page keeps saying it.
    victim = db.session.scalar(select(AuditEntry.id).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.object_type == "items"))
    without_triggers(db.session.connection(), ["audit_entries"], lambda c: c.execute(
        text("UPDATE audit_entries SET origin = 'forged' WHERE id = :id"), {"id": victim}))
    db.session.commit()
    _, page, flashes = manager.submit("/audit/verify", {})
    assert flashes[0][0] == "error" and f"audit entry {victim} does not match" in flashes[0][1]
    assert 'data-chain="broken"' in manager.get("/audit")


def test_pdf_export_holds_the_filtered_entries_and_the_verification(app, lab, moved):
    import pypdf

    manager = Browser(app, lab, "manager")
    manager.submit("/audit/verify", {})
    response = manager.client.get(f"/audit/export.pdf?object_type=items&object_id={moved['id']}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    content = " ".join(page.extract_text() for page in reader.pages)
    assert "Audit log extract" in content and "Entries: 2 of 2" in content
    assert f"object_type = items · object_id = {moved['id']}" in content
    assert "audit entries match their hashes" in content and "Page 1 of" in content
    assert "Filter dates are days in UTC; the times below are UTC." in content
    assert f"holder_user_id: {lab.id('tech')} (Tech) -> {lab.id('examiner')} (Examiner)" in content
    assert "\x00" not in content  # every glyph is in the embedded font
    assert moved["barcode"] in content


def test_pdf_export_splits_an_entry_taller_than_a_page(app, lab):
    """A case whose notes run to 120 lines makes one entry taller than an A4 page: the extract
    continues it on the next page (ReportLab refused the table: a 500 for the manager)."""
    import pypdf

    notes = "\n".join(f"Bench note line {n}" for n in range(1, 121))
    Api(app.test_client(), lab, "tech").post("/cases", {"submitting_agency": "Central Police",
                                                        "notes": notes})
    response = Browser(app, lab, "manager").client.get("/audit/export.pdf?object_type=cases")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    content = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    assert "Bench note line 1" in content and "Bench note line 120" in content


def test_ledger_counts_of_one_are_singular(sqlite_app):
    """A lab whose ledger holds one entry read 'Registro sellado: 1 entradas selladas.'."""
    from types import SimpleNamespace

    when = datetime(2026, 3, 2, 10, 0)
    status = SimpleNamespace(state="verified", alarms=[], last=None, sealed=True,
                             ledger_size=1, checkpoint_size=1, checkpoint_at=when,
                             witnesses=[(1, when)])
    template = sqlite_app.jinja_env.from_string(
        "{% from 'audit/_entries.html' import verification %}{{ verification(status) }}")
    with sqlite_app.test_request_context(headers={"Accept-Language": "es"}):
        text = " ".join(template.render(status=status).split())
    assert "Registro sellado: 1 entrada sellada." in text, text
    assert "Último punto de control: 1 entrada, firmado el" in text
    assert "Un testigo cofirmó hasta 1 entrada (" in text
    assert "entradas" not in text
