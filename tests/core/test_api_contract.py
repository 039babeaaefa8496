"""The API as a lab script drives it: walk the OpenAPI document and check, for every operation,
what can be checked without knowing the operation.

- no token: 401 in the error shape, with ``WWW-Authenticate``, said in Spanish for
  ``Accept-Language: es``;
- every role of a lab, on its own records and on another lab's (ids in the path): every answer
  is one the document lists for the operation, every 4xx has the shape
  ``{"error", "message", "fields"}``, and another lab's record answers 404 (never 200, never a
  403 or 422 that its own records would not get: per-lab isolation discloses nothing);
- a JSON body that is not JSON, not an object, or lacks required fields: 422 naming ``_body``
  or exactly the required fields, the message and the fields' in Spanish when asked;
- query parameters that do not fit (text for a number, out of range, unknown): 422 naming them,
  each field's message in Spanish (its limits kept) when asked;
- every time in a success answer is UTC in one format (``...+00:00``).

On SQLite with the test client and real tokens (one per role, :func:`make_lab`): seconds.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from ballistics.auth import services as accounts
from ballistics.auth.models import ApiToken, User
from ballistics.auth.roles import Role
from ballistics.comparisons import scans
from ballistics.comparisons.models import (
    Candidate,
    CaseLink,
    Confirmation,
    LinkCorrection,
    Scan,
    Search,
    SearchStatus,
)
from ballistics.core import timeutil
from ballistics.evidence import disposal
from ballistics.evidence.models import Case, DisposalRequest, Item
from ballistics.extensions import db
from ballistics.network import node
from ballistics.network.models import (
    ExhibitTransfer,
    ImportedScan,
    PartnerLead,
    PartnerSearch,
    ShareExclusion,
)
from sop.models import (
    Authorisation,
    CompetencyAssessment,
    Complaint,
    CorrectiveAction,
    Equipment,
    Examination,
    Nonconformity,
    Sop,
    SopVersion,
)
from sop.services import complaints, quality
from tests.sop import scenario
from tests.support.labs import PASSWORD, LabKit, make_lab

pytestmark = pytest.mark.xdist_group("openapi")

#: the record each path parameter names
MODELS = {"auth_id": Authorisation, "candidate_id": Candidate, "link_id": CaseLink,
          "case_id": Case, "assessment_id": CompetencyAssessment,
          "confirmation_id": Confirmation, "action_id": CorrectiveAction,
          "request_id": DisposalRequest, "equipment_id": Equipment, "exam_id": Examination,
          "user_id": User, "transfer_id": ExhibitTransfer, "item_id": Item,
          "correction_id": LinkCorrection, "exclusion_id": ShareExclusion,
          "lead_id": PartnerLead, "nc_id": Nonconformity, "scan_id": Scan,
          "version_id": SopVersion, "sop_id": Sop, "token_id": ApiToken,
          "complaint_id": Complaint}
#: a time in an answer: UTC, one format across the API
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")
ES = {"Accept-Language": "es"}
#: one caller of each role
ROLES = ("tech", "examiner", "reviewer", "manager", "admin")


def _model(path: str, name: str):
    if name == "search_id":
        return PartnerSearch if "/partner-searches/" in path else Search
    return MODELS[name]


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _seed(kit: LabKit) -> dict:
    """A record of every kind a path names: a released examination (scenario), scans, a
    search with a candidate, a nonconformity with an action, a manager's override request, a
    share exclusion, a confirmation, a case link with a correction, a partner search, a lead
    asked of the lab and an incoming exhibit; the id of one of each kind, by model."""
    sc = scenario.build(kit)
    examiner, manager = kit.users["examiner"], kit.users["manager"]
    with scenario.as_(examiner):
        item = db.session.get(Item, sc.ids["items"][0])
        uploaded = [scans.upload_scan(examiner, item, data=_png(kit.lab.id * 10 + i),
                                      filename=f"s{i}.png", pixel_um=3.0)[0] for i in range(2)]
        search = Search(lab_id=kit.lab.id, query_scan_id=uploaded[0].id,
                        algorithm_version="seed", status=SearchStatus.DONE,
                        created_by_id=examiner.id, finished_at=timeutil.utcnow())
        db.session.add(search)
        db.session.flush()
        db.session.add(Candidate(lab_id=kit.lab.id, search_id=search.id, rank=1,
                                 reference_scan_id=uploaded[1].id, signature_similarity=0.5,
                                 score=0.5, cmc_count=3, cmc_count_reverse=3, pairwise_ccf=0.4,
                                 likelihood_ratio=2.0, rotation_deg=0.0, dx_px=0.0, dy_px=0.0))
        db.session.flush()
    with scenario.as_(manager):
        nc = quality.open_nonconformity(manager, title="Seeded")
        quality.add_action(manager, nc, kind="corrective", description="Fix it",
                           owner_id=examiner.id,
                           due_on=timeutil.utcnow().date() + timedelta(days=30))
        disposal.request(manager, db.session.get(Item, sc.ids["items"][1]), action="release",
                         override_reason="holder_absent", reason="Court order",
                         to_agency="Court")
        node.exclude_case(manager, db.session.get(Case, sc.ids["case"]), "Sealed by the court")
    with scenario.as_(kit.users["tech"]):
        # recorded by the technician: its detail is theirs and the managers' (others: 403)
        complaints.record(kit.users["tech"], received_on=kit.lab.today(),
                          complainant_name="Seeded", complainant_kind="court", channel="letter",
                          subject="Seeded", case_ids=[sc.ids["case"]])
    with scenario.as_(examiner):
        # Records the services make only through the hub or a reviewed confirmation, written
        # as rows: the walk needs their ids, not their history.
        candidate = db.session.scalar(select(Candidate).where(Candidate.search_id == search.id))
        case_id, reviewer = sc.ids["case"], kit.users["reviewer"]
        link = CaseLink(lab_id=kit.lab.id, case_a_id=case_id, case_b_id=case_id,
                        candidate_id=candidate.id, conclusion="identification",
                        confirmed_by_id=examiner.id, reviewed_by_id=reviewer.id)
        partner_search = PartnerSearch(lab_id=kit.lab.id, scan_id=uploaded[0].id,
                                       status="done", created_by_id=examiner.id,
                                       candidates=[{"record": 1, "owner": "PARTNER"}])
        db.session.add_all([link, partner_search, Confirmation(
            lab_id=kit.lab.id, candidate_id=candidate.id, examination_id=sc.exam.id,
            created_by_id=examiner.id)])
        db.session.flush()
        db.session.add_all([
            LinkCorrection(lab_id=kit.lab.id, link_id=link.id, reason="Wrong case",
                           requested_by_id=examiner.id),
            PartnerLead(lab_id=kit.lab.id, direction="incoming", hub_lead_id=kit.lab.id,
                        partner_code="PARTNER", scan_id=uploaded[0].id,
                        due_at=timeutil.utcnow() + timedelta(days=30)),
            ExhibitTransfer(lab_id=kit.lab.id, direction="incoming", transfer_id="T-1",
                            partner_code="PARTNER", status="delivered",
                            item_kind="cartridge_case"),
            ImportedScan(lab_id=kit.lab.id, scan_id=uploaded[0].id, original_sha256="0" * 64,
                         original_filename="ref.x3p", source_lab="Another system",
                         measured_at="2026-03-02T10:00:00", pixel_um_x=3.0, pixel_um_y=3.0,
                         imported_by_id=examiner.id)])
        db.session.flush()
    with scenario.as_(kit.users["admin"]):
        # records the walk may deactivate or revoke without losing a caller
        spare = accounts.create_user(kit.lab, f"spare-{kit.lab.code.lower()}", "Spare",
                                     PASSWORD, [Role.EXAMINER])
        accounts.issue_token(spare, "spare")
    db.session.commit()
    ids = {}
    for model in {*MODELS.values(), Search, PartnerSearch}:
        if model is User:
            ids[model] = spare.id
        elif model is ApiToken:
            ids[model] = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == spare.id))
        else:
            ids[model] = db.session.scalar(select(model.id).where(model.lab_id == kit.lab.id)
                                           .order_by(model.id))
    assert all(ids.values()), [m.__name__ for m, ident in ids.items() if not ident]
    return ids


@pytest.fixture(scope="module")
def world(sqlite_app):
    """Two labs, each with a record of most kinds: ``(lab, own ids, other lab's ids)``."""
    with sqlite_app.app_context():
        kit, other = make_lab(), make_lab()
        own_ids, other_ids = _seed(kit), _seed(other)
        db.session.remove()
    return kit, own_ids, other_ids


@pytest.fixture(scope="module")
def spec(sqlite_app) -> dict:
    return sqlite_app.test_client().get("/api/v1/openapi.json").get_json()


def _operations(spec: dict):
    for path, methods in spec["paths"].items():
        if path.startswith("/api/"):
            for method, op in methods.items():
                yield path, method.upper(), op


def _deref(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _sample(spec: dict, schema: dict, ids: dict | None = None, name: str = ""):
    """The smallest value the schema accepts (required properties only): a body that passes
    the schema, so the operation goes on to look its records up. A property naming a record
    (``case_id``) names the caller's lab's (``ids``): the database is shared with other
    modules' labs, whose record 1 may be."""
    schema = _deref(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: _sample(spec, prop, ids, key)
                for key, prop in schema.get("properties", {}).items()
                if key in schema.get("required", [])}
    if kind == "array":
        return [_sample(spec, schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "integer" and ids and name in MODELS and ids.get(MODELS[name]):
        return ids[MODELS[name]]
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    return {"date": "2026-01-01", "date-time": "2026-01-01T00:00:00+00:00"}.get(
        schema.get("format"), "x" * max(1, schema.get("minLength", 1)))


def _request_body(spec: dict, op: dict, ids: dict | None = None) -> dict:
    """Keyword arguments for the test client carrying a body the operation's schema accepts."""
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return {"json": _sample(spec, content["application/json"]["schema"], ids)}
    if "multipart/form-data" in content:
        schema = content["multipart/form-data"]["schema"]
        form = {name: str(_sample(spec, prop)) for name, prop in schema["properties"].items()
                if name in schema.get("required", []) and name != "file"}
        return {"data": {**form, "file": (io.BytesIO(_png(99)), "s.png")},
                "content_type": "multipart/form-data"}
    return {}


def _url(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[_model(path, m.group(1))] or 2**31 - 1),
                  path)


def _is_error(response) -> bool:
    body = response.get_json(silent=True)
    return (isinstance(body, dict) and set(body) == {"error", "message", "fields"}
            and isinstance(body["error"], str) and isinstance(body["message"], str)
            and isinstance(body["fields"], dict)
            and all(isinstance(v, list) for v in body["fields"].values()))


#: times quoted as another system wrote them (an imported x3p's measurement date): provenance,
#: kept verbatim, its zone unknown
VERBATIM = {"measured_at"}


def _times(value, where: str = ""):
    """Every ``*_at`` value the API states, with where it is."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith("_at") and isinstance(inner, str) and key not in VERBATIM:
                yield f"{where}.{key}", inner
            else:
                yield from _times(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _times(inner, f"{where}.{i}")


def test_no_token_is_refused_everywhere_in_the_readers_language(sqlite_app, spec):
    client = sqlite_app.test_client()
    walked = 0
    for path, method, op in _operations(spec):
        if not op.get("security"):
            continue
        url = re.sub(r"\{\w+\}", "1", path)
        english = client.open(url, method=method)
        assert english.status_code == 401, (method, path, english.get_json())
        assert _is_error(english), (method, path, english.get_data(as_text=True))
        assert english.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
        spanish = client.open(url, method=method, headers=ES)
        assert spanish.status_code == 401 and _is_error(spanish), (method, path)
        assert spanish.get_json()["message"] != english.get_json()["message"], (
            method, path, "the message is not said in Spanish", spanish.get_json())
        walked += 1
    assert walked > 100


def test_every_answer_is_documented_and_another_labs_records_answer_404(sqlite_app, spec,
                                                                       world):
    kit, own_ids, other_ids = world
    client = sqlite_app.test_client()
    problems, walked, found_own = [], 0, set()
    for path, method, op in _operations(spec):
        if not op.get("security"):
            continue
        documented = set(op["responses"])
        walked += 1
        for role in ROLES:
            headers = kit.headers(role)
            own = client.open(_url(path, own_ids), method=method, headers=headers,
                              **_request_body(spec, op, own_ids))
            answers = [("own", own)]
            if "{" in path:
                answers.append(("other lab's", client.open(
                    _url(path, other_ids), method=method, headers=headers,
                    **_request_body(spec, op, own_ids))))
            for which, answer in answers:
                if str(answer.status_code) not in documented:
                    problems.append(f"{role} {method} {path} ({which} id): undocumented "
                                    f"{answer.status_code} {answer.get_data(as_text=True)}")
                if answer.status_code >= 400 and not _is_error(answer):
                    problems.append(f"{role} {method} {path}: not the error shape")
                if answer.status_code < 300 and answer.is_json:
                    problems += [f"{method} {path}{where}: {value!r} is not UTC"
                                 for where, value in _times(answer.get_json())
                                 if not UTC_TIME.fullmatch(value)]
            if len(answers) == 1:
                continue
            if own.status_code != 404:
                found_own.add((method, path))
            # Another lab's record is not there: 404, unless the caller's role or a body the
            # schema refused is answered alike for the lab's own records.
            other = answers[1][1]
            same_refusal = (other.status_code == own.status_code in (403, 422)
                            and other.get_json() == own.get_json())
            if other.status_code != 404 and not same_refusal:
                problems.append(f"{role} {method} {path}: another lab's record answers "
                                f"{other.status_code} (own: {own.status_code}) "
                                f"{other.get_data(as_text=True)}")
    assert walked > 100
    # the lab's own records were found (the 404s of the other lab's are not a 404 for all)
    with_ids = {(method, path) for path, method, op in _operations(spec) if "{" in path}
    assert not with_ids - found_own, sorted(with_ids - found_own)
    assert not problems, "\n".join(problems)


def test_bodies_that_are_not_json_objects_or_lack_fields_are_refused_naming_them(
        sqlite_app, spec, world):
    kit, own_ids, _ = world
    client = sqlite_app.test_client()
    headers = kit.headers("manager")
    problems, walked = [], 0
    for path, method, op in _operations(spec):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content or ("{" in path and not all(
                own_ids[_model(path, n)] for n in re.findall(r"\{(\w+)\}", path))):
            continue
        walked += 1
        url = _url(path, own_ids)
        required = set(_deref(spec, content["application/json"]["schema"]).get("required", []))
        for raw, mimetype in ((b"{not json", "application/json"), (b"[]", "application/json"),
                              (b"a=1", "application/x-www-form-urlencoded")):
            answer = client.open(url, method=method, headers=headers, data=raw,
                                 content_type=mimetype)
            if answer.status_code != 422 or not _is_error(answer) or set(
                    answer.get_json()["fields"]) != {"_body"}:
                problems.append(f"{method} {path} {raw!r}: {answer.status_code} "
                                f"{answer.get_data(as_text=True)}")
        if not required:
            continue
        english = client.open(url, method=method, headers=headers, json={})
        spanish = client.open(url, method=method, headers={**headers, **ES}, json={})
        body = english.get_json()
        if english.status_code != 422 or set(body["fields"]) != required:
            problems.append(f"{method} {path} {{}}: {english.status_code} names "
                            f"{sorted(body['fields'])}, required {sorted(required)}")
        elif spanish.get_json()["message"] == body["message"]:
            problems.append(f"{method} {path}: the refusal is not said in Spanish")
        elif spanish.get_json()["fields"] != {name: ["Falta este dato obligatorio."]
                                              for name in required}:
            problems.append(f"{method} {path}: the fields are not said in Spanish "
                            f"{spanish.get_json()['fields']}")
    assert walked > 40
    assert not problems, "\n".join(problems)


def test_query_parameters_that_do_not_fit_are_refused_naming_them(sqlite_app, spec, world):
    kit, own_ids, _ = world
    client = sqlite_app.test_client()
    headers = kit.headers("manager")
    problems, walked = [], 0
    for path, method, op in _operations(spec):
        if method != "GET":
            continue
        url = _url(path, own_ids)
        unknown = client.get(url, headers=headers, query_string={"colour": "red"})
        if unknown.status_code != 422 or set(unknown.get_json()["fields"]) != {"colour"}:
            problems.append(f"GET {path}?colour=red: {unknown.status_code}")
        problems += _not_spanish(client, url, headers, {"colour": "red"}, unknown)
        for param in (p for p in op["parameters"] if p["in"] == "query"):
            walked += 1
            name, schema = param["name"], param["schema"]
            bad = ["text"] if schema.get("type") == "integer" else []
            if "minimum" in schema:
                bad.append(str(schema["minimum"] - 1))
            if "maximum" in schema:
                bad.append(str(schema["maximum"] + 1))
            if "maxLength" in schema:
                bad.append("x" * (schema["maxLength"] + 1))
            for value in bad:
                answer = client.get(url, headers=headers, query_string={name: value})
                if answer.status_code != 422 or set(answer.get_json()["fields"]) != {name}:
                    problems.append(f"GET {path}?{name}={value[:20]}: {answer.status_code} "
                                    f"{answer.get_data(as_text=True)}")
                problems += _not_spanish(client, url, headers, {name: value}, answer)
        if op["responses"].get("404") and "{" not in path:
            problems.append(f"GET {path}: documents a 404 it has no record to answer for")
    assert walked >= 5
    assert not problems, "\n".join(problems)


def _not_spanish(client, url: str, headers: dict, query: dict, english) -> list[str]:
    """The same refused query asked in Spanish names the same fields, each message said in
    Spanish (never the English one), its limits kept."""
    spanish = client.get(url, headers={**headers, **ES}, query_string=query)
    said, fields = english.get_json()["fields"], spanish.get_json()["fields"]
    where = f"GET {url}?{'&'.join(f'{k}={str(v)[:20]}' for k, v in query.items())}"
    if spanish.status_code != english.status_code or set(fields) != set(said):
        return [f"{where} in Spanish: {spanish.status_code} {fields}"]
    return [f"{where}: {name} is said in English: {fields[name]}" for name in fields
            if set(fields[name]) & set(said[name])
            or re.findall(r"\d+", " ".join(fields[name])) != re.findall(r"\d+",
                                                                         " ".join(said[name]))]


def test_what_a_get_answers_can_be_put_back(sqlite_app, spec, world, monkeypatch):
    """Read, change, write: every PUT takes the representation the GET of the same address
    answered (readOnly fields included), as a script that edits one value sends it."""
    kit, own_ids, _ = world
    client = sqlite_app.test_client()
    headers = kit.headers("manager")
    with sqlite_app.app_context():
        monkeypatch.setitem(sqlite_app.config, "NETWORK_LAB", db.session.scalar(
            select(User).where(User.id == own_ids[User])).lab.code)  # this node's lab
    walked = 0
    for path, method, _op in _operations(spec):
        if method != "PUT" or "get" not in spec["paths"][path]:
            continue
        walked += 1
        read = client.get(_url(path, own_ids), headers=headers)
        assert read.status_code == 200, (path, read.get_json())
        written = client.put(_url(path, own_ids), headers=headers, json=read.get_json())
        assert written.status_code == 200, (path, written.get_json())
    assert walked >= 2
