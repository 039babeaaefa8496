"""The OpenAPI document is valid, and what it promises the answers keep (schemathesis checks
the rest under fuzzing: tests/core/test_api_fuzz.py)."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
import schemathesis

from ballistics.core.fields import DB_INT_MAX
from tests.support.labs import make_lab

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("openapi")


@pytest.fixture(scope="module")
def spec(sqlite_app) -> dict:
    return sqlite_app.test_client().get("/api/v1/openapi.json").get_json()


def _validator(spec: dict, schema: dict) -> jsonschema_rs.Validator:
    # OpenAPI 3.0 schemas are a JSON Schema draft 4 dialect but for "nullable", said here as
    # draft 4 says it (null among the types).
    return jsonschema_rs.Draft4Validator(_nullable({**schema, "components": spec["components"]}))


def _nullable(schema):
    if isinstance(schema, list):
        return [_nullable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable") and "type" in schema:
        out["type"] = [schema["type"], "null"]
    return out


def test_document_is_valid_openapi(spec):
    schemathesis.openapi.from_dict(spec).validate()  # the OpenAPI 3.0 meta-schema
    broken = {**spec, "paths": {"/x": {"get": {"responses": {"200": {"description": 5}}}}}}
    with pytest.raises(jsonschema_rs.ValidationError):
        schemathesis.openapi.from_dict(broken).validate()


def test_scan_upload_body_can_be_satisfied(spec):
    body = spec["paths"]["/api/v1/items/{item_id}/scans"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    valid = _validator(spec, schema)
    assert valid.is_valid({"file": "bytes", "region": "firing_pin", "calibre": "9mm Luger",
                           "pixel_um": 3.5, "open_case": False})
    assert not valid.is_valid({"region": "breech_face"})  # the file is required
    assert not valid.is_valid({"file": "bytes", "colour": "red"})  # unknown fields refused


def test_every_operation_documents_its_refusals(spec):
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            answers = set(op["responses"])
            assert "422" in answers, (method, path)  # bad body, query or out-of-range id
            if op.get("security"):
                assert "401" in answers, (method, path)
            ids = [p for p in op["parameters"] if p["in"] == "path"]
            if ids:
                assert "404" in answers, (method, path)
            for param in ids:
                assert param["schema"]["maximum"] == DB_INT_MAX, (method, path)
    integer_fields = [prop for schema in spec["components"]["schemas"].values()
                      for prop in schema.get("properties", {}).values()
                      if prop.get("type") == "integer"]
    assert integer_fields and all(p.get("maximum", 0) <= DB_INT_MAX for p in integer_fields)


def test_error_bodies_match_the_documented_flat_schema(sqlite_app, spec):
    error = _validator(spec, {"$ref": "#/components/schemas/Error"})
    with sqlite_app.app_context():
        kit = make_lab()
    client = sqlite_app.test_client()
    sop = client.post("/api/v1/sops", headers=kit.headers("manager"),
                      json={"code": "FA-01", "title": "Function testing"}).get_json()
    nested = client.post(f"/api/v1/sops/{sop['id']}/versions", headers=kit.headers("manager"),
                         json={"steps": [{"title": ""}, {"title": "x", "unit": 5}]})
    assert nested.status_code == 422
    body = nested.get_json()
    error.validate(body)
    assert set(body["fields"]) == {"steps.0.title", "steps.1.unit"}, body
    for response in (client.get("/api/v1/me"), client.delete("/api/v1/me"),
                     client.get("/api/v1/nowhere")):
        error.validate(response.get_json())


def test_role_refusals_of_evidence_and_scan_operations_are_documented(sqlite_app, spec):
    """An account without the evidence roles (the lab's admin) is refused with 403 by opening
    a case, receiving, every custody operation, uploading a scan and searching: the document
    lists that answer (it listed 404, 409 and 422 only)."""
    with sqlite_app.app_context():
        kit = make_lab()
        examiner = kit.id("examiner")
    client = sqlite_app.test_client()
    tech = kit.headers("tech")
    case = client.post("/api/v1/cases", headers=tech,
                       json={"submitting_agency": "Central Police"}).get_json()
    item = client.post(f"/api/v1/cases/{case['id']}/items", headers=tech,
                       json={"kind": "cartridge_case", "from_agency": "Central Police"}
                       ).get_json()
    calls = [("/api/v1/cases", {"submitting_agency": "Central Police"}),
             (f"/api/v1/cases/{case['id']}/items",
              {"kind": "cartridge_case", "from_agency": "Central Police"}),
             (f"/api/v1/items/{item['id']}/transfer", {"to_user_id": examiner}),
             (f"/api/v1/items/{item['id']}/store", {"location_id": kit.location_id}),
             (f"/api/v1/items/{item['id']}/return", {"location_id": kit.location_id}),
             (f"/api/v1/items/{item['id']}/check-out", {}),
             (f"/api/v1/items/{item['id']}/seal", {"seal_number": "S-1"}),
             (f"/api/v1/items/{item['id']}/unseal", {"reason": "Examination"}),
             (f"/api/v1/items/{item['id']}/sample", {"kind": "test_fire"}),
             (f"/api/v1/items/{item['id']}/release", {"to_agency": "Court", "reason": "Trial"}),
             (f"/api/v1/items/{item['id']}/destroy", {"reason": "Court order",
                                                      "witness_id": examiner})]
    for url, body in calls:
        answer = client.post(url, headers=kit.headers("admin"), json=body)
        assert answer.status_code == 403, (url, answer.get_json())
        documented = _operation(spec, "post", url)["responses"]
        assert "403" in documented, (url, sorted(documented))
    for path in ("/api/v1/items/{item_id}/scans", "/api/v1/scans/{scan_id}/searches"):
        assert "403" in spec["paths"][path]["post"]["responses"], path


def _operation(spec: dict, method: str, url: str) -> dict:
    """The operation of the document that ``url`` (with ids) is an instance of."""
    for path, operations in spec["paths"].items():
        pattern = r"\d+".join(re.escape(part) for part in re.split(r"\{\w+\}", path))
        if re.fullmatch(pattern, url):
            return operations[method]
    raise AssertionError(f"no operation for {method} {url}")


def test_excluding_a_case_twice_answers_a_documented_409(sqlite_app, spec):
    with sqlite_app.app_context():
        kit = make_lab()
    client = sqlite_app.test_client()
    case = client.post("/api/v1/cases", headers=kit.headers("tech"),
                       json={"submitting_agency": "Central Police"}).get_json()
    body = {"case_id": case["id"], "reason": "Sealed by the court"}
    first = client.post("/api/v1/network/exclusions", headers=kit.headers("manager"), json=body)
    again = client.post("/api/v1/network/exclusions", headers=kit.headers("manager"), json=body)
    assert (first.status_code, again.status_code) == (201, 409), again.get_json()
    assert again.get_json()["error"] == "already_excluded"
    assert "409" in spec["paths"]["/api/v1/network/exclusions"]["post"]["responses"]


def test_a_list_without_ids_in_its_path_documents_no_404(spec):
    """A list with query parameters has no record in its path to miss: its answers are 200,
    401 and 422 (the query parameters were counted as path ids, and a 404 documented)."""
    for path in ("/api/v1/cases", "/api/v1/compliance/findings"):
        op = spec["paths"][path]["get"]
        assert {p["in"] for p in op["parameters"]} == {"query"}, path
        assert set(op["responses"]) == {"200", "401", "422"}, (path, sorted(op["responses"]))


def test_sharing_answers_are_documented_and_match_the_document(sqlite_app, spec, monkeypatch):
    """The sharing policy, an exclusion made and lifted, and a withdrawn share document what
    they answer (a client generated from the document had no type for them), and answer that.
    Left undocumented: the binary x3p export and the free-form validation summary."""
    undocumented = sorted(f"{method} {path}" for path, operations in spec["paths"].items()
                          for method, op in operations.items()
                          for status, answer in op["responses"].items()
                          if status.startswith("2") and "content" not in answer)
    assert undocumented == ["get /api/v1/comparisons/validation",
                            "get /api/v1/scans/{scan_id}/x3p"]
    with sqlite_app.app_context():
        kit = make_lab()
        monkeypatch.setitem(sqlite_app.config, "NETWORK_LAB", kit.lab.code)  # this node's lab
    client = sqlite_app.test_client()
    manager = kit.headers("manager")
    case = client.post("/api/v1/cases", headers=kit.headers("tech"),
                       json={"submitting_agency": "Central Police"}).get_json()

    def answer(method: str, url: str, status: int, **kwargs) -> dict:
        response = client.open(url, method=method, headers=manager, **kwargs)
        assert response.status_code == status, (url, response.get_json())
        documented = _operation(spec, method.lower(), url)["responses"][str(status)]
        _validator(spec, documented["content"]["application/json"]["schema"]).validate(
            response.get_json())
        return response.get_json()

    answer("GET", "/api/v1/network/policy", 200)
    assert answer("PUT", "/api/v1/network/policy", 200,
                  json={"mode": "named", "partners": ["PARTNER"]})["partners"] == ["PARTNER"]
    made = answer("POST", "/api/v1/network/exclusions", 201,
                  json={"case_id": case["id"], "reason": "Sealed by the court"})
    assert made["case_id"] == case["id"] and made["lifted_at"] is None
    lifted = answer("POST", f"/api/v1/network/exclusions/{made['id']}/lift", 200,
                    json={"reason": "The seal was lifted"})
    assert lifted["id"] == made["id"] and lifted["lifted_at"].endswith("+00:00")
    assert lifted["lift_reason"] == "The seal was lifted"


def test_settings_read_can_be_written_back(sqlite_app, spec):
    """Read, change, write: the comparison settings a GET answers are PUT back with one value
    changed. Their readOnly fields (who changed them last, when) are left out of what is
    written (they were refused as 'Unknown field.'); an unknown field is still refused."""
    assert spec["components"]["schemas"]["Settings"]["properties"]["updated_at"]["readOnly"]
    with sqlite_app.app_context():
        kit = make_lab()
        manager_id = kit.id("manager")
    client = sqlite_app.test_client()
    manager = kit.headers("manager")
    settings = client.get("/api/v1/comparison-settings", headers=manager).get_json()
    written = client.put("/api/v1/comparison-settings", headers=manager,
                         json={**settings, "is_blind_verification": True, "updated_by_id": 1})
    assert written.status_code == 200, written.get_json()
    assert written.get_json()["is_blind_verification"] is True
    assert written.get_json()["updated_by_id"] == manager_id  # set by the server, not sent
    refused = client.put("/api/v1/comparison-settings", headers=manager,
                         json={**settings, "colour": "red"})
    assert refused.status_code == 422 and list(refused.get_json()["fields"]) == ["colour"]
