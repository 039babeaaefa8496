"""Small input rules: blank and future values, hidden characters, literal search, and test fires
that take their firearm's calibre."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ballistics.comparisons.models import Scan, ScanStatus, Search
from ballistics.core import timeutil
from ballistics.evidence.models import Case
from ballistics.extensions import db
from tests.comparisons.helpers import x3p_bytes
from tests.support.web import Api, Browser, field_errors


def _cases(lab_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Case.id)).where(Case.lab_id == lab_id))


def test_blank_agency_future_offence_date_and_hidden_characters_are_refused(app, client, lab):
    tech = Api(client, lab, "tech")
    before = _cases(lab.lab.id)
    body = tech.post("/cases", {"submitting_agency": " \t "}, expect=422)
    assert body["fields"] == {"submitting_agency": ["Must not be blank."]}
    tomorrow_everywhere = (timeutil.utcnow() + timedelta(days=2)).date().isoformat()
    body = tech.post("/cases", {"submitting_agency": "Police",
                                "offence_date": tomorrow_everywhere}, expect=422)
    assert body["fields"] == {"offence_date": ["Must not be in the future."]}
    # A right-to-left override would show "Murder" reversed after it; a NUL cannot be stored.
    body = tech.post("/cases", {"submitting_agency": "Police", "offence": "Theft \u202eredruM",
                                "notes": "a\x00b"}, expect=422)
    assert set(body["fields"]) == {"offence", "notes"}
    assert "RIGHT-TO-LEFT OVERRIDE (U+202E)" in body["fields"]["offence"][0]
    assert "control character (U+0000)" in body["fields"]["notes"][0]
    assert _cases(lab.lab.id) == before
    # Today is accepted (a lab ahead of UTC enters its own date), and so is plain Arabic text
    # with its ordinary direction marks.
    today = timeutil.utcnow().date().isoformat()
    case = tech.post("/cases", {"submitting_agency": "شرطة\u200f", "offence_date": today})
    assert case["offence_date"] == today
    # Nested input names the place: the second step's title.
    body = Api(client, lab, "manager").post("/sops", {"code": "FA-01", "title": "Safety"})
    body = Api(client, lab, "manager").post(f"/sops/{body['id']}/versions", {"steps": [
        {"title": "Unload"}, {"title": "Check\u2066 chamber"}]}, expect=422)
    assert list(body["fields"]) == ["steps.1.title"]
    # Pages use the same schemas: the message sits beside the field.
    page = Browser(app, lab, "tech")
    _, html, flashes = page.submit("/cases", {"submitting_agency": "Police",
                                              "offence": "Theft ‮redruM"})
    assert flashes[0][0] == "error" and "Offence: Contains" in flashes[0][1]
    assert list(field_errors(html)) == ["offence"]
    # ... in the reader's language (a Spanish page said it in English)
    page.client.set_cookie("lang", "es")
    _, html, flashes = page.submit("/cases", {"submitting_agency": "Policía",
                                              "offence": "Hurto \u202eredruM", "notes": "a\x01b"})
    assert field_errors(html) == {
        "offence": "Contiene el carácter de control invisible RIGHT-TO-LEFT OVERRIDE (U+202E); "
                   "quítelo.",
        "notes": "Contiene un carácter de control (U+0001); quítelo."}, field_errors(html)
    assert _cases(lab.lab.id) == before + 1


def test_percent_and_underscore_are_matched_literally(app, client, lab):
    tech = Api(client, lab, "tech")
    wanted = tech.post("/cases", {"submitting_agency": "Police", "agency_case_number": "QQ_1"})
    tech.post("/cases", {"submitting_agency": "Police", "agency_case_number": "QQZ1"})
    tech.post("/cases", {"submitting_agency": "Police", "agency_case_number": "QX\\1"})

    def found(q: str) -> list[str]:
        return [c["agency_case_number"] for c in tech.get(f"/cases?q={q}")]

    assert found("QQ_1") == ["QQ_1"] and wanted["agency_case_number"] == "QQ_1"
    assert found("%25") == []  # "%": no case number holds a percent sign
    assert found("Q%251") == []
    assert found("QX%5C1") == ["QX\\1"]
    assert set(found("QQ")) == {"QQ_1", "QQZ1"}


def test_a_test_fire_takes_its_firearms_calibre_and_its_search_is_filtered(app, client, lab):
    examiner = Api(client, lab, "examiner")
    firearm = examiner.receive(examiner.new_case()["id"], "firearm", calibre="9mm Luger")
    fire = examiner.post(f"/items/{firearm['id']}/sample", {"kind": "test_fire"})
    assert fire["calibre"] == "9mm Luger"
    other = examiner.post(f"/items/{firearm['id']}/sample", {"kind": "test_fire",
                                                             "calibre": ".380 ACP"})
    assert other["calibre"] == ".380 ACP"
    # The scan is uploaded without a calibre: it takes the test fire's.
    import io

    response = client.post(f"/api/v1/items/{fire['id']}/scans", headers=lab.headers("examiner"),
                           data={"file": (io.BytesIO(x3p_bytes(0, 0)), "fire.x3p")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    scan = response.get_json()
    assert scan["calibre"] == "9mm Luger"
    row = db.session.get(Scan, scan["id"])
    row.status = ScanStatus.DONE
    db.session.commit()
    search = examiner.post(f"/scans/{scan['id']}/searches", {"k": 10}, expect=202)
    assert db.session.get(Search, search["id"]).filters["calibre"] == "9mm Luger"
