"""The quality pages through the test client: access, drill-down, export formats."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ballistics.extensions import db
from sop.models import CorrectiveAction
from tests.sop.scenario import build
from tests.support.labs import PASSWORD, make_lab
from tests.support.web import field_errors


def _login(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 302
    return client


def test_dashboard_export_and_drill_down(app):
    kit = make_lab()
    sc = build(kit, break_="CUSTODY-HELD")
    exam_id = sc.exam.id
    names = {who: u.username for who, u in kit.users.items()}
    assert _login(app, names["examiner"]).get("/quality/").status_code == 403
    client = _login(app, names["manager"])
    page = client.get("/quality/")
    assert page.status_code == 200
    assert "CUSTODY-HELD" in page.text and "<svg" in page.text
    # The rates are written as the reader's language writes them (the CSV below keeps its own).
    spanish = client.get("/quality/", headers={"Accept-Language": "es"}).text
    assert '<html lang="es">' in spanish and ">100,0\xa0%</text>" in spanish
    assert "100.0%" not in spanish and ">100.0%</text>" in client.get(
        "/quality/", headers={"Accept-Language": "en"}).text
    # One finding is one: the chart and the list heading agree in number (was "1 findings",
    # "1 hallazgos", "los 1 más recientes de 1").
    assert "1 finding" in page.text and "1 findings" not in page.text
    assert "1 hallazgo" in spanish and "1 hallazgos" not in spanish
    assert "1 más reciente de 1" in spanish and "los 1 " not in spanish
    finding_id = int(re.search(r"/quality/findings/(\d+)", page.text).group(1))
    detail = client.get(f"/quality/findings/{finding_id}")
    assert "went to Examiner2" in detail.text and "custody event no.:" in detail.text
    # The records behind it are named in the reader's language (were the stored keys:
    # "item id", "custody event id", "occurred at" on a Spanish page).
    spanish = client.get(f"/quality/findings/{finding_id}", headers={"Accept-Language": "es"})
    records = spanish.text[spanish.text.index('<dl class="evidence">'):]
    records = records[:records.index("</dl>")]
    assert "indicio n.º:" in records and "evento de custodia n.º:" in records, records
    assert "item id" not in records and "custody event id" not in records
    report = client.get("/quality/export")
    assert report.status_code == 200 and "SOP compliance audit report" in report.text
    assert "1 examination; 0 fully compliant" in report.text  # was "1 examinations"
    rows = list(csv.DictReader(io.StringIO(client.get("/quality/export?format=csv").text)))
    assert [(int(r["examination_id"]), r["compliant"], r["rule_ids"]) for r in rows] == [
        (exam_id, "no", "CUSTODY-HELD")]
    # Timestamps say their zone: a spreadsheet in another zone must not shift them silently.
    stamps = [rows[0][name] for name in ("performed_at", "completed_at", "released_at")]
    assert all(datetime.fromisoformat(s).utcoffset() == timedelta(0) for s in stamps), stamps
    bad = client.get("/quality/export?start=yesterday")
    assert bad.status_code == 422 and "start must be a date" in bad.text
    other = make_lab().users["manager"].username
    assert _login(app, other).get(f"/quality/findings/{finding_id}").status_code == 404


def test_nonconformity_page_plans_an_action(app):
    kit = make_lab()
    build(kit, break_="SOP-ACKNOWLEDGED")
    manager = kit.users["manager"].username
    client = _login(app, manager)
    page = client.get("/quality/")
    finding_id = int(re.search(r"/quality/findings/(\d+)", page.text).group(1))
    detail = client.get(f"/quality/findings/{finding_id}")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', detail.text).group(1)
    response = client.post(f"/quality/findings/{finding_id}/nonconformity",
                           data={"csrf_token": token, "title": "No acknowledgement",
                            "description": "Examiner did not read v1."})
    assert response.status_code == 303, response.text
    nc_url = response.headers["Location"]
    nc_page = client.get(nc_url)
    assert nc_page.status_code == 200, nc_page.text
    assert "No action planned yet." in nc_page.text
    # A plan without its description is refused beside the field, keeps what was typed and
    # writes nothing.
    action_url = re.search(r'action="(/quality/nonconformities/\d+/actions)"', nc_page.text)[1]
    before = db.session.scalar(select(func.count(CorrectiveAction.id)))
    form = {"csrf_token": token, "kind": "preventive", "owner_id": str(kit.users["examiner"].id),
            "due_on": "2027-01-31", "description": ""}
    refused = client.post(action_url, data=form)
    assert refused.status_code == 422
    assert field_errors(refused.text) == {"description": "Missing data for required field."}
    assert '<option selected value="preventive">' in refused.text
    assert 'value="2027-01-31"' in refused.text
    assert db.session.scalar(select(func.count(CorrectiveAction.id))) == before
    accepted = client.post(action_url, data={**form, "description": "Read-and-sign drill."})
    assert accepted.status_code == 303 and accepted.headers["Location"] == nc_url
    assert "Read-and-sign drill." in client.get(nc_url).text


def test_reevaluate_competency_and_sop_pages(app):
    kit = make_lab()
    build(kit, break_="TURNAROUND")
    names = {who: u.username for who, u in kit.users.items()}
    examiner_id = kit.users["examiner"].id
    client = _login(app, names["manager"])
    page = client.get("/quality/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/quality/evaluate", data={"csrf_token": token})
    assert response.status_code == 303
    assert "Re-evaluated 1 examination: 1 finding." in client.get("/quality/").text
    assert client.post("/quality/evaluate", data={}).status_code in (400, 422)
    sops = client.get("/quality/sops")
    assert "FA-06" in sops.text and "effective" in sops.text
    progress = client.get(f"/quality/examiners/{examiner_id}/competency")
    assert "Comparison microscopy technique" in progress.text and "competent" in progress.text
    own = _login(app, names["examiner2"]).get(f"/quality/examiners/{examiner_id}/competency")
    assert own.status_code == 403


def test_dashboard_months_are_the_labs_months(app):
    """In a UTC-5 lab an examination at 23:30 on 31 March, local time (04:30 UTC on 1 April),
    is March's on the dashboard and in the audit report; one at 00:30 on 1 April is April's."""
    from datetime import date

    from sop.models import Examination
    from sop.services import dashboard

    kit = make_lab()
    kit.lab.time_zone = "America/Bogota"  # UTC-5, no daylight saving
    late = build(kit).exam
    late.performed_at = datetime(2026, 4, 1, 4, 30)  # 23:30 on 31 March in Bogota
    db.session.commit()
    march = dashboard.Period(date(2026, 3, 1), date(2026, 3, 31), "America/Bogota")
    assert dashboard.compliance_rates(kit.lab.id, march)[3] == [
        {"month": "2026-03", "examinations": 1, "with_findings": 0, "rate": 1.0}]
    # the same instant on UTC's calendar is April's: the zone is what decides
    utc = dashboard.Period(date(2026, 3, 1), date(2026, 4, 30))
    assert [m["month"] for m in dashboard.compliance_rates(kit.lab.id, utc)[3]] == ["2026-04"]

    client = _login(app, kit.users["manager"].username)
    spring = "start=2026-03-01&end=2026-04-30"
    report = client.get(f"/quality/export?{spring}", headers={"Accept-Language": "en"}).text
    assert "<td>March 2026</td><td>1</td>" in report and "<td>April 2026</td>" not in report
    page = client.get(f"/quality/?{spring}").text
    assert "<title>March 2026:" in page and "<title>April 2026:" not in page
    assert 'data-month="2026-03">Mar</text>' in page and ">2026</text>" in page
    # months as the reader's language names them
    es = {"Accept-Language": "es"}
    assert "<td>marzo de 2026</td><td>1</td>" in client.get(f"/quality/export?{spring}",
                                                            headers=es).text
    page = client.get(f"/quality/?{spring}", headers=es).text
    assert "<title>marzo de 2026:" in page and 'data-month="2026-03">mar</text>' in page
    # a period ending on 31 March (the lab's day) holds it
    assert "<td>March 2026</td><td>1</td>" in client.get(
        "/quality/export?start=2026-03-01&end=2026-03-31").text

    late.performed_at = datetime(2026, 4, 1, 5, 30)  # 00:30 on 1 April in Bogota
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Examination, late.id).performed_at.hour == 5
    report = client.get(f"/quality/export?{spring}").text
    assert "<td>April 2026</td><td>1</td>" in report and "<td>March 2026</td>" not in report


def test_version_dates_are_written_in_the_readers_language(app):
    """An SOP version's dates (in force from and until, review due) as the page's language
    writes a date, on the SOP list, the SOP's page and the version's page; never ISO."""
    from datetime import date

    from sop.models import Sop, SopVersion

    kit = make_lab()
    build(kit)
    version = db.session.scalars(select(SopVersion).join(Sop).where(
        Sop.lab_id == kit.lab.id).order_by(SopVersion.id)).first()
    version.effective_from, version.effective_until = date(2026, 3, 1), date(2026, 11, 30)
    version.review_due = date(2027, 3, 1)
    db.session.commit()
    client = _login(app, kit.users["manager"].username)
    pages = ["/quality/sops", f"/quality/sops/{version.sop_id}",
             f"/quality/sop-versions/{version.id}"]
    for language, start, end, review in (("en", "Mar 1, 2026", "Nov 30, 2026", "Mar 1, 2027"),
                                         ("es", "1 mar 2026", "30 nov 2026", "1 mar 2027")):
        for path in pages:
            html = client.get(path, headers={"Accept-Language": language}).text
            assert start in html and "2026-03-01" not in html, (language, path)
        assert end in html and review in html and "2027-03-01" not in html, language
