"""The API's ``Idempotency-Key`` header: a script that times out and sends a write again gets
the first answer back instead of a second record (the receive of an item as the main example:
the chain of custody must not say two items were received when one was).

On both databases: replay, a key reused for another request (422), a refused first request
keeps no key, keys are a user's own, expiry and the sweep, a bad key, no header (unchanged).
Simultaneous requests with one key over real HTTP: exactly one record.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from ballistics.audit.services import verify_audit_chain
from ballistics.auth import idempotency
from ballistics.auth.models import IdempotencyKey
from ballistics.auth.tasks import idempotency_sweep
from ballistics.comparisons.models import Scan
from ballistics.core.api import OPERATIONS
from ballistics.core.openapi import build_spec
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case, CustodyEvent, Item
from ballistics.extensions import db
from sop.models import Nonconformity
from tests.comparisons.helpers import upload, x3p_bytes
from tests.support.intake import check_intake
from tests.support.labs import make_lab
from tests.support.services import serve
from tests.support.web import Api

BODY = {"kind": "cartridge_case", "from_agency": "Central Police"}


def _post(client, kit, who: str, path: str, body: dict | None, key: str | None = None,
          **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1{path}", json=body, headers={**kit.headers(who), **headers})


def _items(case_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Item)
                             .where(Item.case_id == case_id))


def _keys(user_id: int) -> list[IdempotencyKey]:
    db.session.expire_all()
    return db.session.scalars(select(IdempotencyKey)
                              .where(IdempotencyKey.user_id == user_id)).all()


def test_a_receive_sent_again_with_its_key_is_received_once(app, client, lab):
    case = Api(client, lab, "tech").new_case()
    key = str(uuid.uuid4())
    first = _post(client, lab, "tech", f"/cases/{case['id']}/items", BODY, key)
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    # the key and its answer were committed with the item
    (row,) = _keys(lab.id("tech"))
    assert (row.key, row.status, row.lab_id) == (key, 201, lab.lab.id)
    # the retry: the same answer, marked as a replay, and nothing written
    again = _post(client, lab, "tech", f"/cases/{case['id']}/items", BODY, key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Content-Type"] == "application/json"
    # the body counts by its content (a client may serialise it again in another key order),
    # and the draft's quoted form of the key is the same key
    reordered = client.post(f"/api/v1/cases/{case['id']}/items",
                            data='{"from_agency": "Central Police", "kind": "cartridge_case"}',
                            content_type="application/json",
                            headers={**lab.headers("tech"), "Idempotency-Key": f'"{key}"'})
    assert reordered.status_code == 201 and reordered.headers["Idempotent-Replayed"] == "true"
    assert _items(case["id"]) == 1
    assert db.session.get(Case, case["id"]).item_count == 1
    assert db.session.scalar(select(func.count()).select_from(CustodyEvent)
                             .where(CustodyEvent.item_id == first.get_json()["id"])) == 1
    assert len(_keys(lab.id("tech"))) == 1


def test_a_key_used_for_another_request_answers_422_and_writes_nothing(app, client, lab):
    tech = Api(client, lab, "tech")
    case, other_case = tech.new_case(), tech.new_case()
    key = "retry-1"
    assert _post(client, lab, "tech", f"/cases/{case['id']}/items", BODY, key).status_code == 201
    for path, body in ((f"/cases/{case['id']}/items", {**BODY, "kind": "bullet"}),
                       (f"/cases/{other_case['id']}/items", BODY),
                       ("/cases", {"submitting_agency": "Central Police"})):
        refused = _post(client, lab, "tech", path, body, key, **{"Accept-Language": "es"})
        assert refused.status_code == 422, refused.get_json()
        answer = refused.get_json()
        assert answer["error"] == "idempotency_key_reused"
        assert list(answer["fields"]) == ["Idempotency-Key"]
        assert "Idempotency-Key" in answer["message"] and "solicitud" in answer["message"]
        assert "Idempotent-Replayed" not in refused.headers
    assert (_items(case["id"]), _items(other_case["id"])) == (1, 0)
    assert db.session.get(Case, case["id"]).item_count == 1
    assert len(_keys(lab.id("tech"))) == 1


def test_a_refused_first_request_keeps_no_key_and_may_be_sent_again(app, client, lab,
                                                                     other_lab):
    """A refusal rolled everything back, the key included: the same key then runs the request
    (once the refusal no longer holds, it succeeds)."""
    theirs = Api(client, other_lab, "tech").new_case()
    # refused inside the operation, after the key was claimed: another lab's case
    refused = _post(client, lab, "tech", f"/cases/{theirs['id']}/items", BODY, "k-404")
    assert refused.status_code == 404
    # refused by the input checks
    case = Api(client, lab, "tech").new_case()
    invalid = _post(client, lab, "tech", f"/cases/{case['id']}/items", {**BODY, "kind": "x"},
                    "k-422")
    assert invalid.status_code == 422 and list(invalid.get_json()["fields"]) == ["kind"]
    assert _keys(lab.id("tech")) == []
    # the corrected request with the same key is a new request
    fixed = _post(client, lab, "tech", f"/cases/{case['id']}/items", BODY, "k-422")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert _items(case["id"]) == 1


def test_keys_are_a_users_own(app, client, lab, other_lab):
    """Another user's same key (of the lab or another) is another key: both are done."""
    key = "open-case-1"
    body = {"submitting_agency": "Central Police"}
    answers = [_post(client, kit, who, "/cases", body, key)
               for kit, who in ((lab, "tech"), (lab, "examiner"), (other_lab, "tech"))]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert not any("Idempotent-Replayed" in a.headers for a in answers)
    assert len({a.get_json()["id"] for a in answers}) == 3
    # each user's retry replays that user's own answer
    for (kit, who), answer in zip(((lab, "tech"), (lab, "examiner"), (other_lab, "tech")),
                                  answers, strict=True):
        again = _post(client, kit, who, "/cases", body, key)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json()["id"] == answer.get_json()["id"]


def test_a_key_past_its_time_is_forgotten_and_swept(app, client, lab):
    case = Api(client, lab, "tech").new_case()
    path = f"/cases/{case['id']}/items"
    assert _post(client, lab, "tech", path, BODY, "old").status_code == 201
    assert _post(client, lab, "tech", path, BODY, "kept").status_code == 201
    hours = app.config["IDEMPOTENCY_KEY_HOURS"]
    (kept,) = [row for row in _keys(lab.id("tech")) if row.key == "kept"]
    assert kept.expires_at - kept.created_at == timedelta(hours=hours)
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.user_id == lab.id("tech"),
                                                    IdempotencyKey.key == "old")
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # past its time: the request runs again (a new item) and takes the key anew
    again = _post(client, lab, "tech", path, BODY, "old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _items(case["id"]) == 3
    assert {row.key for row in _keys(lab.id("tech"))} == {"old", "kept"}
    # the sweep deletes only what is past its time
    db.session.execute(update(IdempotencyKey).where(IdempotencyKey.user_id == lab.id("tech"),
                                                    IdempotencyKey.key == "old")
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # the hourly task, run here in the test's app (a task binds to the last Celery app made)
    assert idempotency_sweep.run()["idempotency_keys_deleted"] >= 1
    assert {row.key for row in _keys(lab.id("tech"))} == {"kept"}


def test_a_key_taken_by_an_answer_that_cannot_be_read_answers_409(app, client, lab,
                                                                  monkeypatch):
    """The fallback when the key's row was taken (the unique index said so) but reading it found
    nothing (it vanished in between, e.g. swept): 409 naming the header, nothing written."""
    case = Api(client, lab, "tech").new_case()
    path = f"/cases/{case['id']}/items"
    assert _post(client, lab, "tech", path, BODY, "taken").status_code == 201
    monkeypatch.setattr(idempotency, "_lookup", lambda *_args: None)
    refused = _post(client, lab, "tech", path, BODY, "taken")
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"] == "idempotency_key_in_use"
    assert list(refused.get_json()["fields"]) == ["Idempotency-Key"]
    monkeypatch.undo()
    assert _items(case["id"]) == 1 and len(_keys(lab.id("tech"))) == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé", "a\tb"])
def test_a_bad_key_answers_422_naming_the_header(app, client, lab, key):
    case = Api(client, lab, "tech").new_case()
    refused = _post(client, lab, "tech", f"/cases/{case['id']}/items", BODY, key,
                    **{"Accept-Language": "es"})
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["fields"] == {
        "Idempotency-Key": [f"De 1 a {idempotency.MAX_LENGTH} caracteres ASCII imprimibles."]}
    assert _items(case["id"]) == 0 and _keys(lab.id("tech")) == []


def test_the_longest_key_is_taken(app, client, lab):
    case = Api(client, lab, "tech").new_case()
    key = "k" * idempotency.MAX_LENGTH
    for _ in range(2):
        assert _post(client, lab, "tech", f"/cases/{case['id']}/items", BODY,
                     key).status_code == 201
    assert _items(case["id"]) == 1


def test_without_the_header_nothing_changes(app, client, lab):
    case = Api(client, lab, "tech").new_case()
    answers = [_post(client, lab, "tech", f"/cases/{case['id']}/items", BODY) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert not any("Idempotent-Replayed" in a.headers for a in answers)
    assert _items(case["id"]) == 2 and _keys(lab.id("tech")) == []


def test_operations_whose_answer_holds_a_secret_ignore_the_header(app, client, lab):
    """A set-password link is not stored to be replayed: the header is ignored there, as on a
    read, and the OpenAPI document lists it only where it is honoured."""
    answer = _post(client, lab, "manager", "/users",
                   {"username": f"new-{uuid.uuid4().hex[:6]}", "full_name": "New",
                    "roles": ["examiner"]}, "user-1")
    assert answer.status_code == 201, answer.get_json()
    assert _keys(lab.id("manager")) == []
    paths = build_spec()["paths"]

    def documented(path: str, method: str) -> bool:
        return any(p.get("name") == "Idempotency-Key"
                   for p in paths[path][method]["parameters"])

    assert documented("/api/v1/cases/{case_id}/items", "post")
    assert documented("/api/v1/cases", "post")
    assert not documented("/api/v1/users", "post")
    assert not documented("/api/v1/tokens", "post")  # public: no user to own a key
    assert not documented("/api/v1/cases", "get")
    ok = paths["/api/v1/cases/{case_id}/items"]["post"]["responses"]["201"]
    assert "Idempotent-Replayed" in ok["headers"]


def test_a_nonconformity_sent_again_is_recorded_once(app, client, lab):
    """A quality record goes the same way (on by default for every write with a token)."""
    title = f"Balance out of tolerance {uuid.uuid4().hex[:6]}"
    answers = [_post(client, lab, "manager", "/nonconformities", {"title": title}, "nc-1")
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[0].get_json()
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert answers[0].get_json() == answers[1].get_json()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Nonconformity)
                             .where(Nonconformity.title == title)) == 1


def test_an_upload_sent_again_counts_by_its_fields_and_file(app, client, lab):
    """A multipart body differs on every send (a new boundary): the same fields and file with
    the same key are the same request; another file with it is refused."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
    headers = {**lab.headers("examiner"), "Idempotency-Key": "scan-1"}
    data = x3p_bytes(2, 2)
    first = upload(client, headers, item["id"], data)
    assert first.status_code == 201, first.get_json()
    again = upload(client, headers, item["id"], data)
    # the replay, not the duplicate-upload answer (200) a second upload would get
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = upload(client, headers, item["id"], x3p_bytes(3, 3))
    assert other.status_code == 422 and list(other.get_json()["fields"]) == ["Idempotency-Key"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Scan)
                             .where(Scan.item_id == item["id"])) == 1


def test_every_write_with_a_token_honours_the_header_unless_it_holds_a_secret():
    """On by default for every operation that writes and needs a token (a nonconformity, a
    training record, a case...); the three whose answer or body holds a secret opt out."""
    writes = [op for op in OPERATIONS if op.method != "GET" and not op.public]
    assert writes
    assert {op.endpoint for op in writes if not op.idempotent} == {
        "auth_api.user_create_post", "auth_api.user_password_link_post",
        "auth_api.password_change_post"}
    assert not any(op.idempotent for op in OPERATIONS if op.method == "GET" or op.public)


SIMULTANEOUS = 12


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_simultaneous_requests_with_one_key_receive_one_item(request, backend):
    """Twelve threads send the same receive with the same key at once, over real HTTP: the
    first claims the key (its row, under the unique index); the others wait for its commit and
    replay its answer. Exactly one item; every answer names it."""
    flask_app = request.getfixturevalue("pg_app" if backend == "postgresql" else "sqlite_app")
    with flask_app.app_context():
        kit = make_lab()
        headers = kit.headers("tech")
        tech_id, lab_id = kit.id("tech"), kit.lab.id
        db.session.remove()
    key = str(uuid.uuid4())
    with serve(flask_app) as base:
        case = requests.post(f"{base}/api/v1/cases", json={"submitting_agency": "Police"},
                             headers=headers, timeout=30).json()
        barrier = threading.Barrier(SIMULTANEOUS)

        def receive(_: int) -> requests.Response:
            with requests.Session() as http:
                barrier.wait()
                return http.post(f"{base}/api/v1/cases/{case['id']}/items", json=BODY,
                                 headers={**headers, "Idempotency-Key": key}, timeout=120)

        with ThreadPoolExecutor(SIMULTANEOUS) as pool:
            responses = list(pool.map(receive, range(SIMULTANEOUS)))

    failed = [(r.status_code, r.text[:300]) for r in responses if r.status_code != 201]
    assert not failed, failed
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    with flask_app.app_context():
        assert _items(case["id"]) == 1
        assert db.session.get(Case, case["id"]).item_count == 1
        assert len(_keys(tech_id)) == 1
        # what was written is what the audit log says, once (the losers rolled back cleanly)
        check_intake(lab_id, responses[0].json()["id"], tech_id)
        assert verify_audit_chain(db.session, lab_id).ok
        db.session.remove()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_simultaneous_requests_with_one_key_and_other_bodies(request, backend):
    """The same key with different bodies at once: one is done, the others answer 422."""
    flask_app = request.getfixturevalue("pg_app")
    with flask_app.app_context():
        kit = make_lab()
        headers = kit.headers("tech")
        db.session.remove()
    kinds = ["cartridge_case", "bullet", "firearm", "cartridge_case", "bullet", "firearm"]
    with serve(flask_app) as base:
        case = requests.post(f"{base}/api/v1/cases", json={"submitting_agency": "Police"},
                             headers=headers, timeout=30).json()
        barrier = threading.Barrier(len(kinds))

        def receive(index: int) -> requests.Response:
            body = {"kind": kinds[index], "from_agency": f"Police {index}"}
            with requests.Session() as http:
                barrier.wait()
                return http.post(f"{base}/api/v1/cases/{case['id']}/items", json=body,
                                 headers={**headers, "Idempotency-Key": "same"}, timeout=120)

        with ThreadPoolExecutor(len(kinds)) as pool:
            responses = list(pool.map(receive, range(len(kinds))))

    assert sorted(r.status_code for r in responses) == [201] + [422] * (len(kinds) - 1), \
        [(r.status_code, r.text[:200]) for r in responses]
    with flask_app.app_context():
        assert _items(case["id"]) == 1
        db.session.remove()
