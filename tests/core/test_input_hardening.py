"""Hostile or sloppy input is refused naming the field: integers beyond the database's range,
deep JSON, loose types, unknown query parameters, unreadable multipart; never a 500."""

from __future__ import annotations

import json

import pytest

from ballistics.core.fields import DB_INT_MAX
from tests.support.web import Api, Browser

HUGE = 2**63  # beyond SQLite's 8 bytes; 2**31 is already beyond PostgreSQL's INTEGER


def _refused(response, *names: str) -> dict:
    assert response.status_code == 422, (response.status_code, response.get_json())
    body = response.get_json()
    assert body["error"] == "validation_error" and set(names) <= set(body["fields"]), body
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v)
               for v in body["fields"].values()), body  # flat, as documented
    return body


@pytest.fixture
def item(client, lab) -> dict:
    tech = Api(client, lab, "tech")
    return tech.receive(tech.new_case()["id"], calibre="9mm Luger")


@pytest.mark.parametrize("value", [HUGE, DB_INT_MAX + 1])
def test_integers_beyond_the_database_range_name_the_field(client, lab, item, value):
    h = lab.headers("tech")
    _refused(client.get(f"/api/v1/items/{value}", headers=h), "item_id")
    _refused(client.post(f"/api/v1/items/{item['id']}/transfer", headers=h,
                         json={"to_user_id": value, "expected_seq": -value - 1}),
             "to_user_id", "expected_seq")
    _refused(client.post("/api/v1/examinations", headers=lab.headers("examiner"),
                         json={"sop_version_id": -value - 1, "item_ids": [item["id"], value]}),
             "sop_version_id", "item_ids.1")
    _refused(client.get(f"/api/v1/compliance/findings?examination_id={value}", headers=h),
             "examination_id")
    _refused(client.get(f"/api/v1/cases?offset={value}", headers=h), "offset")
    assert client.get(f"/api/v1/items/{DB_INT_MAX}", headers=h).status_code == 404


def test_page_with_an_id_beyond_the_range_is_not_found(app, lab):
    Browser(app, lab, "tech").get(f"/items/{HUGE}", expect=404)


def test_deep_json_is_refused_not_a_recursion_error(client, lab):
    h = {**lab.headers("tech"), "Content-Type": "application/json"}
    for depth in (33, 200_000):  # past the limit; past the parser's own stack
        body = '{"notes": ' + "[" * depth + "]" * depth + "}"
        _refused(client.post("/api/v1/cases", headers=h, data=body), "_body")
    ok = '{"submitting_agency": "Central Police", "notes": "' + "[" * 40 + '"}'
    assert client.post("/api/v1/cases", headers=h, data=ok).status_code == 201


def test_loose_types_are_refused_in_json(client, lab, item):
    h = lab.headers("tech")
    case_id = item["case_id"]
    for body, field in (({"quantity": "5"}, "quantity"), ({"quantity": 5.0}, "quantity"),
                        ({"quantity": True}, "quantity"),
                        ({"is_serial_obliterated": 0}, "is_serial_obliterated"),
                        ({"is_serial_obliterated": "true"}, "is_serial_obliterated")):
        _refused(client.post(f"/api/v1/cases/{case_id}/items", headers=h,
                             json={"kind": "firearm", "from_agency": "CP", **body}), field)
    _refused(client.post(f"/api/v1/items/{item['id']}/transfer", headers=h,
                         json={"to_user_id": float(lab.id("examiner"))}), "to_user_id")
    _refused(client.post("/api/v1/competency-assessments", headers=lab.headers("examiner"),
                         json={"ratings": {"microscopy": "3"}}), "ratings.microscopy.value")
    accepted = client.post(f"/api/v1/cases/{case_id}/items", headers=h, json={
        "kind": "firearm", "from_agency": "CP", "quantity": 2, "is_serial_obliterated": True})
    assert accepted.status_code == 201 and accepted.get_json()["quantity"] == 2


@pytest.mark.parametrize("text", ["Central\u0000Police", "Central \ud927Police"])
def test_text_no_database_can_store_is_refused(client, lab, text):
    """JSON can spell a NUL or a lone surrogate; PostgreSQL refuses the one and UTF-8 cannot
    encode the other, which used to surface as a 500."""
    _refused(client.post("/api/v1/cases", headers=lab.headers("tech"),
                         json={"submitting_agency": text}), "submitting_agency")


def test_text_transports_still_parse_numbers(app, client, lab, item):
    """Query strings and page forms carry text: the same fields parse it, the same rules hold."""
    h = lab.headers("tech")
    assert len(client.get("/api/v1/cases?limit=1&offset=0", headers=h).get_json()) == 1
    _refused(client.get("/api/v1/cases?limit=1.5", headers=h), "limit")
    browser = Browser(app, lab, "tech")
    _, page, _ = browser.submit(f"/cases/{item['case_id']}/items", {
        "kind": "firearm", "from_agency": "Central Police", "quantity": "3",
        "is_serial_obliterated": "y"})
    assert "received into your custody" in page
    items = Api(client, lab, "tech").get(f"/cases/{item['case_id']}")["items"]
    assert [(i["quantity"], i["is_serial_obliterated"]) for i in items][-1] == (3, True)
    _, _, flashed = browser.submit(f"/cases/{item['case_id']}/items", {
        "kind": "firearm", "from_agency": "Central Police", "quantity": "3.5"})
    assert flashed and "Quantity" in flashed[0][1]


def test_unknown_or_repeated_query_parameters_are_refused(client, lab):
    h = lab.headers("tech")
    _refused(client.get("/api/v1/me?verbose=1", headers=h), "verbose")
    _refused(client.get("/api/v1/cases?limit=1&limit=2", headers=h), "limit")
    _refused(client.get("/api/v1/cases?sort=id", headers=h), "sort")


def test_405_says_which_methods_are_allowed(client, lab):
    response = client.delete("/api/v1/cases", headers=lab.headers("tech"))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.get_json()["error"] == "method_not_allowed"


def test_non_utf8_file_name_gets_a_clear_message(client, lab, item):
    body = (b'--XX\r\nContent-Disposition: form-data; name="file"; filename="sc\xe9n.png"\r\n'
            b"Content-Type: image/png\r\n\r\nDATA\r\n--XX--\r\n")
    response = client.post(f"/api/v1/items/{item['id']}/scans", data=body,
                           headers={**lab.headers("examiner"),
                                    "Content-Type": "multipart/form-data; boundary=XX"})
    body = _refused(response, "file")
    assert "UTF-8" in body["message"] and "Missing" not in json.dumps(body)
