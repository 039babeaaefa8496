"""Each refusal of the account lifecycle: the right status, a message naming the reason, and
nothing written (row counts and the audit chains unchanged)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.audit.services import verify_audit_chain
from ballistics.auth.models import ApiToken, PasswordReset, User, UserRole
from ballistics.extensions import db
from tests.support.labs import PASSWORD, LabKit
from tests.support.web import Api

NEW = "violet ledger canyon marmalade"


@dataclass
class Case:
    who: str
    path: str  # formatted with ids: {tech}, {admin}, {other}, ...
    status: int
    says: str
    body: dict[str, Any] = field(default_factory=dict)
    setup: str | None = None


CASES = {
    "wrong current password": Case("examiner", "/me/password", 422, "current password is wrong",
                                   {"current_password": "not my password", "new_password": NEW}),
    "password too short": Case("examiner", "/me/password", 422, "at least 12 characters",
                               {"current_password": PASSWORD, "new_password": "short-pw"}),
    "common password": Case("examiner", "/me/password", 422, "common",
                            {"current_password": PASSWORD, "new_password": "password1234"}),
    "examiner manages accounts": Case("examiner", "/users/{tech}/deactivate", 403,
                                      "not allow you to manage accounts"),
    "manager grants manager": Case("manager", "/users/{tech}/roles", 403,
                                   "may not grant the role lab manager",
                                   {"roles": ["lab_manager"]}),
    "manager resets an admin": Case("manager", "/users/{admin}/password-link", 403,
                                    "holds roles you may not grant (admin)"),
    "last admin drops the role": Case("admin", "/users/{admin}/roles", 409,
                                      "last active admin", {"roles": ["examiner"]}),
    "deactivate oneself": Case("admin", "/users/{admin}/deactivate", 409, "your own account"),
    "another lab's user": Case("admin", "/users/{other}/deactivate", 404, "No user"),
    "duplicate username": Case("manager", "/users", 409, "already taken in this installation",
                               {"username": "{tech_name}", "full_name": "Twin",
                                "roles": ["examiner"]}),
    "someone else's token": Case("examiner", "/tokens/{tech_token}/revoke", 403,
                                 "manage accounts"),
    "token while a change is forced": Case("examiner", "/tokens", 403, "new password first",
                                           {"username": "{examiner_name}",
                                            "password": PASSWORD},
                                           setup="force"),
}


def _ids(lab: LabKit, other: LabKit | None) -> dict[str, Any]:
    tech_token = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == lab.id("tech")))
    return {"tech": lab.id("tech"), "admin": lab.id("admin"),
            "other": other.id("tech") if other else 0, "tech_token": tech_token,
            "tech_name": lab.users["tech"].username,
            "examiner_name": lab.users["examiner"].username}


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _state(lab_id: int) -> tuple:
    counts = tuple(db.session.scalar(select(func.count()).select_from(model))
                   for model in (User, UserRole, ApiToken, PasswordReset, AuditEntry))
    heads = tuple(db.session.execute(
        select(AuditEntry.chain_key, func.max(AuditEntry.id))
        .where(AuditEntry.chain_key.in_([0, lab_id])).group_by(AuditEntry.chain_key)
        .order_by(AuditEntry.chain_key)).all())
    revoked = db.session.scalar(select(func.count()).where(ApiToken.revoked_at.is_not(None)))
    versions = db.session.scalar(select(func.sum(User.session_version)))
    return counts, heads, revoked, versions


@pytest.mark.parametrize("name", CASES)
def test_refusal_names_the_reason_and_writes_nothing(app, client, lab, lab_factory, name):
    case = CASES[name]
    other = lab_factory() if "{other}" in case.path else None
    if case.setup == "force":
        Api(client, lab, "manager").post(f"/users/{lab.id('examiner')}/force-password-change",
                                         expect=200)
    ids = _ids(lab, other)
    db.session.commit()
    before = _state(lab.lab.id)
    headers = {} if case.path == "/tokens" else lab.headers(case.who)
    response = client.post("/api/v1" + _fill(case.path, ids), headers=headers,
                           json={k: _fill(v, ids) for k, v in case.body.items()})
    body = response.get_json()
    assert response.status_code == case.status, body
    assert case.says in body["message"], body
    db.session.expire_all()
    assert _state(lab.lab.id) == before
    assert verify_audit_chain(db.session, lab.lab.id).ok


def test_used_and_expired_links_are_refused_and_write_nothing(app, client, lab):
    manager = Api(client, lab, "manager")
    url = manager.post(f"/users/{lab.id('tech')}/password-link")["url"]
    path = "/password/" + url.rsplit("/", 1)[1]
    assert client.get(path).status_code == 200
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.user_id == lab.id("tech")))
    reset.expires_at = reset.created_at  # as if its day had passed
    db.session.commit()
    before = _state(lab.lab.id)
    page = client.post(path, data={"new_password": NEW})  # no CSRF needed to be refused first
    assert page.status_code in (400, 410)
    expired = client.get(path)
    assert expired.status_code == 410 and "expired" in expired.text
    assert _state(lab.lab.id) == before
    unknown = client.get("/password/not-a-token")
    assert unknown.status_code == 404 and "not known" in unknown.text
