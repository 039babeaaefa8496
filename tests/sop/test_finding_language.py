"""A finding is judged once and read by managers of either language: pages, the audit export,
the API and a refusal say it in the reader's language (its clauses, days and codes too); the
stored English stays for machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

from babel.dates import format_date, format_datetime
from sqlalchemy import select, update

from ballistics.core import timeutil
from ballistics.extensions import db
from sop.models import Finding, SopVersion
from sop.services import personnel
from sop.services.compliance.engine import refresh_findings
from tests.sop.scenario import _grants, as_, build, make_sop
from tests.support.labs import make_lab
from tests.support.web import Api, Browser


def _spanish(day) -> str:
    return format_date(day, locale="es")


def _two_findings(kit):
    """One examination with two findings: items that left the examiner's custody (a custody
    event's kind, a code) and a version that stopped being in force (a clause with its day and
    the version's status, a code)."""
    sc = build(kit, break_="CUSTODY-HELD")
    version = db.session.get(SopVersion, sc.version.id)
    # Corrected record: the version was retired the day it came into force.
    version.effective_until, version.status = version.effective_from, "retired"
    with as_(kit.users["manager"]):
        refresh_findings(kit.lab.id)
    db.session.commit()
    found = {f.rule_id: f for f in db.session.scalars(
        select(Finding).where(Finding.examination_id == sc.exam.id))}
    assert set(found) == {"CUSTODY-HELD", "SOP-EFFECTIVE"}
    return version, found


def test_a_spanish_manager_reads_findings_in_spanish_and_an_english_one_as_before(app):
    kit = make_lab()
    version, found = _two_findings(kit)
    day = _spanish(version.effective_until)
    item = db.session.scalar(select(Finding.evidence).where(
        Finding.id == found["CUSTODY-HELD"].id))["items"][0]
    custody_es = "Fuera de la custodia de Examiner: "
    custody_tail = ("pasó a Examiner2 el {} (evento de custodia n.º 3, traspasado) antes de "
                    "completarse el examen.")
    effective_es = (f"FA-06 v1 no estaba vigente el {day}: dejó de estar vigente el {day} "
                    "(retirada).")
    # The stored English is today's sentence, ISO days and codes as they are.
    iso = version.effective_until.isoformat()
    assert found["SOP-EFFECTIVE"].message == (
        f"FA-06 v1 was not in force on {iso}: it stopped being in force on {iso} (retired).")
    assert found["CUSTODY-HELD"].message.startswith("Not held by Examiner: ")
    assert "(custody event 3, transferred) before the examination was completed." in \
        found["CUSTODY-HELD"].message
    assert item["seq"] == 3

    manager = Browser(app, kit, "manager")
    manager.client.set_cookie("lang", "es")
    pages = {"list": manager.get("/quality/findings"), "dashboard": manager.get("/quality/"),
             "effective": manager.get(f"/quality/findings/{found['SOP-EFFECTIVE'].id}"),
             "custody": manager.get(f"/quality/findings/{found['CUSTODY-HELD'].id}"),
             "export": manager.get("/quality/export")}
    pages = {name: unescape(page) for name, page in pages.items()}
    for name in ("list", "dashboard", "effective", "export"):
        assert effective_es in pages[name], name
    for name in ("list", "custody", "export"):
        assert custody_es in pages[name] and "(evento de custodia n.º 3, traspasado)" in \
            pages[name], name
    for name, page in pages.items():
        assert "was not in force" not in page and "Not held by" not in page, name
        assert "stopped being in force" not in page and "transferred)" not in page, name
    # The hand-over's moment: UTC, named, in the stored English; the lab's zone (UTC here),
    # named, in the reader's format on the page.
    moved = datetime.fromisoformat(item["occurred_at"])
    assert f"on {moved:%Y-%m-%d %H:%M} UTC (custody event 3" in found["CUSTODY-HELD"].message
    shown = format_datetime(moved, "short", tzinfo=UTC, locale="es")
    assert custody_tail.format(f"{shown} UTC") in pages["custody"]
    # Raising a nonconformity from the finding starts from the finding in her language.
    form = pages["effective"][pages["effective"].index('name="description"'):]
    assert effective_es in form.split("</textarea>")[0]

    manager.client.set_cookie("lang", "en")
    english = unescape(manager.get(f"/quality/findings/{found['SOP-EFFECTIVE'].id}"))
    shown = format_date(version.effective_until, locale="en")
    assert (f"FA-06 v1 was not in force on {shown}: it stopped being in force on {shown} "
            "(retired).") in english
    assert "Not held by Examiner: " in unescape(manager.get("/quality/findings"))


def test_the_api_gives_the_finding_in_the_language_asked_for(app, client):
    kit = make_lab()
    version, found = _two_findings(kit)
    headers = kit.headers("manager")

    def message(language: str) -> dict:
        response = client.get("/api/v1/compliance/findings?rule_id=SOP-EFFECTIVE",
                              headers={**headers, "Accept-Language": language})
        assert response.status_code == 200
        (row,) = response.get_json()
        return row

    en, es = message("en"), message("es")
    until = version.effective_until
    assert en["message"] == (f"FA-06 v1 was not in force on {format_date(until, locale='en')}: "
                             f"it stopped being in force on {format_date(until, locale='en')} "
                             "(retired).")
    assert es["message"] == (f"FA-06 v1 no estaba vigente el {_spanish(until)}: dejó de estar "
                             f"vigente el {_spanish(until)} (retirada).")
    # The codes and facts for machines are the same in both.
    assert {k: v for k, v in en.items() if k != "message"} == \
        {k: v for k, v in es.items() if k != "message"}
    assert es["rule_id"] == "SOP-EFFECTIVE" and es["evidence"]["status"] == "retired"
    assert es["evidence"]["effective_until"] == until.isoformat()
    # A nonconformity raised through the API without a description keeps the finding in the
    # caller's language.
    response = client.post("/api/v1/nonconformities", json={
        "title": "Retired version used", "finding_id": found["SOP-EFFECTIVE"].id},
        headers={**headers, "Accept-Language": "es"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["description"] == es["message"]


def test_a_finding_judged_before_wordings_were_kept_shows_its_stored_sentence(app):
    kit = make_lab()
    sc = build(kit, break_="TURNAROUND")
    # As the migration leaves the rows judged before it: the English sentence, no wording.
    db.session.execute(update(Finding).where(Finding.examination_id == sc.exam.id)
                       .values(wording=None, message="Released late (judged before)."))
    db.session.commit()
    finding = db.session.scalar(select(Finding).where(Finding.examination_id == sc.exam.id))
    manager = Browser(app, kit, "manager")
    manager.client.set_cookie("lang", "es")
    assert "Released late (judged before)." in manager.get("/quality/findings")
    assert "Released late (judged before)." in manager.get(f"/quality/findings/{finding.id}")
    body = Api(manager.client, kit, "manager").get("/compliance/findings")
    assert [f["message"] for f in body] == ["Released late (judged before)."]
    # The next evaluation gives it its wording again.
    with as_(kit.users["manager"]):
        refresh_findings(kit.lab.id)
    db.session.commit()
    assert "Emitido 40 días después de la solicitud (plazo: 30 días)." in \
        manager.get("/quality/findings")


def test_a_spanish_examiner_is_refused_entirely_in_spanish(app, client):
    kit = make_lab()
    version = make_sop(kit)
    examiner, manager = kit.users["examiner"], kit.users["manager"]
    db.session.commit()
    api = Api(client, kit, "tech")
    item = api.receive(api.new_case()["id"])
    api.post(f"/items/{item['id']}/transfer", {"to_user_id": kit.id("examiner")})
    today = timeutil.local_day(timeutil.utcnow(), kit.lab.time_zone)

    # The API: Accept-Language picks the refusal's language; its code stays.
    start = {"sop_version_id": version.id, "item_ids": [item["id"]]}
    response = client.post("/api/v1/examinations", json=start,
                           headers={**kit.headers("examiner"), "Accept-Language": "es"})
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "examiner_authorised"
    assert body["message"] == (f"Perito autorizado para el POE: Examiner no tenía autorización "
                               f"para FA-06 el {_spanish(today)} (nunca se le otorgó ninguna).")
    english = client.post("/api/v1/examinations", json=start,
                          headers={**kit.headers("examiner"), "Accept-Language": "en"})
    assert english.get_json()["message"] == (
        f"Examiner authorised for the SOP: Examiner held no authorisation for FA-06 on "
        f"{format_date(today, locale='en')} (none was ever granted).")

    # The page: a revoked authorisation, its span a clause of the sentence.
    with as_(manager):
        personnel.grant_authorisation(manager, user_id=examiner.id, sop_id=version.sop_id,
                                      starts_on=today - timedelta(days=30),
                                      expires_on=today + timedelta(days=335))
        grant = next(iter(_grants(version, examiner)))
        personnel.revoke_authorisation(manager, grant, reason="found unqualified",
                                       revoked_on=today)
    db.session.commit()
    web = Browser(app, kit, "examiner")
    web.client.set_cookie("lang", "es")
    _, _page, flashed = web.submit("/quality/examinations", {
        "sop_version_id": str(version.id), "item_ids": str(item["id"])})
    assert flashed == [("error", (
        f"Perito autorizado para el POE: Examiner no tenía autorización para FA-06 el "
        f"{_spanish(today)} (autorización n.º {grant.id} vigente del "
        f"{_spanish(today - timedelta(days=30))} al {_spanish(today + timedelta(days=335))}, "
        f"revocada el {_spanish(today)})."))]
