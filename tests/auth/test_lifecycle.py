"""The account lifecycle through the API and the login page: passwords, links, sessions,
deactivation, roles and tokens."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from ballistics.audit.models import AuditEntry
from ballistics.auth.models import User
from ballistics.extensions import db
from tests.support.labs import PASSWORD
from tests.support.web import TOKEN, Api

NEW_PASSWORD = "violet ledger canyon marmalade"


def _login(client, username: str, password: str) -> int:
    page = client.get("/login").text
    return client.post("/login", data={"csrf_token": TOKEN.search(page).group(1),
                                       "username": username, "password": password}).status_code


def _token(client, username: str, password: str) -> int:
    return client.post("/api/v1/tokens", json={"username": username,
                                               "password": password}).status_code


def test_cookie_replayed_after_logout_is_refused(app, lab):
    browser = app.test_client()
    assert _login(browser, lab.users["examiner"].username, PASSWORD) == 302
    cookie = browser.get_cookie("session").value
    page = browser.get("/cases").text
    assert browser.post("/logout", data={"csrf_token": TOKEN.search(page).group(1)}
                        ).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    response = replay.get("/cases")
    assert response.status_code == 302 and "/login" in response.location


def test_own_password_change_ends_other_sessions_and_keeps_tokens(app, client, lab):
    username = lab.users["examiner"].username
    other_device = app.test_client()
    assert _login(other_device, username, PASSWORD) == 302
    api = Api(client, lab, "examiner")
    me = api.post("/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                  expect=200)
    assert me["username"] == username
    assert other_device.get("/cases").status_code == 302  # that session ended
    assert api.get("/me")["id"] == lab.id("examiner")  # API tokens are kept
    assert _login(app.test_client(), username, PASSWORD) == 401
    assert _login(app.test_client(), username, NEW_PASSWORD) == 302


def test_new_user_sets_password_once_through_the_link(app, client, lab):
    manager = Api(client, lab, "manager")
    name = f"new-{lab.lab.code.lower()}"
    made = manager.post("/users", {"username": name.upper(), "full_name": "Nia New",
                                   "roles": ["examiner"]})
    assert made["user"]["username"] == name  # stored in lower case
    assert _token(client, name, PASSWORD) == 401  # no password until the link is used
    path = re.sub(r"^https?://[^/]+", "", made["link"]["url"])
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200 and "Nia New" in page.text
    answer = browser.post(path, data={"csrf_token": TOKEN.search(page.text).group(1),
                                      "new_password": NEW_PASSWORD})
    assert answer.status_code == 303
    assert browser.get("/cases").status_code == 200  # logged in by setting the password
    assert app.test_client().get(path).status_code == 410  # used once
    assert _token(client, name, NEW_PASSWORD) == 201
    # The audit log recorded the link and the password, with every secret redacted.
    token = path.rsplit("/", 1)[1]
    user_id = made["user"]["id"]
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.chain_key == lab.lab.id, AuditEntry.object_type.in_(
            ["password_resets", "users"]))).all()
    text = json.dumps([[e.before, e.after] for e in entries])
    assert token not in text and "$argon2" not in text and "<redacted>" in text
    assert any(e.object_type == "users" and e.object_id == str(user_id) and e.actor_id == user_id
               and (e.after or {}).get("password_hash") == "<redacted>" for e in entries)


def test_a_newer_link_replaces_the_older(app, client, lab):
    manager = Api(client, lab, "manager")
    first = manager.post(f"/users/{lab.id('tech')}/password-link")["url"]
    second = manager.post(f"/users/{lab.id('tech')}/password-link")["url"]
    strip = re.compile(r"^https?://[^/]+")
    assert client.get(strip.sub("", first)).status_code == 410
    assert client.get(strip.sub("", second)).status_code == 200


def test_deactivation_ends_sessions_and_revokes_tokens(app, client, lab):
    username = lab.users["tech"].username
    session = app.test_client()
    assert _login(session, username, PASSWORD) == 302
    manager = Api(client, lab, "manager")
    assert manager.post(f"/users/{lab.id('tech')}/deactivate", expect=200)["is_active"] is False
    assert session.get("/cases").status_code == 302
    Api(client, lab, "tech").get("/me", expect=401)
    assert _login(app.test_client(), username, PASSWORD) == 401
    assert manager.post(f"/users/{lab.id('tech')}/reactivate", expect=200)["is_active"] is True
    Api(client, lab, "tech").get("/me", expect=401)  # revoked tokens stay revoked
    assert _login(app.test_client(), username, PASSWORD) == 302


def test_roles_are_granted_by_least_privilege(app, client, lab):
    admin, manager = Api(client, lab, "admin"), Api(client, lab, "manager")
    assert manager.post(f"/users/{lab.id('tech')}/roles",
                        {"roles": ["evidence_technician", "examiner"]}, expect=200
                        )["roles"] == ["evidence_technician", "examiner"]
    assert admin.post(f"/users/{lab.id('examiner')}/roles",
                      {"roles": ["examiner", "lab_manager"]}, expect=200
                      )["roles"] == ["examiner", "lab_manager"]
    # Once a manager, the examiner is beyond the other manager's reach.
    manager.post(f"/users/{lab.id('examiner')}/force-password-change", expect=403)


def test_tokens_are_listed_and_revoked_by_owner_and_manager(app, client, lab):
    examiner = Api(client, lab, "examiner")
    extra = client.post("/api/v1/tokens", json={"username": lab.users["examiner"].username,
                                                "password": PASSWORD, "name": "script"})
    assert extra.status_code == 201
    listed = examiner.get("/tokens")
    assert {t["name"] for t in listed} == {"test", "script"}
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    script = next(t for t in listed if t["name"] == "script")
    assert examiner.post(f"/tokens/{script['id']}/revoke", expect=200)["revoked_at"]
    assert client.get("/api/v1/me", headers={
        "Authorization": f"Bearer {extra.get_json()['token']}"}).status_code == 401
    manager = Api(client, lab, "manager")
    assert [t["name"] for t in manager.get(f"/users/{lab.id('examiner')}/tokens")] == ["test"]
    assert manager.post(f"/users/{lab.id('examiner')}/tokens/revoke", expect=200
                        ) == {"revoked": 1}
    examiner.get("/me", expect=401)


def test_forced_change_sends_the_next_login_to_the_password_form(app, client, lab):
    username = lab.users["tech"].username
    Api(client, lab, "manager").post(f"/users/{lab.id('tech')}/force-password-change",
                                     expect=200)
    assert _token(client, username, PASSWORD) == 403  # no new tokens until it is changed
    browser = app.test_client()
    assert _login(browser, username, PASSWORD) == 302
    response = browser.get("/cases")
    assert response.status_code == 302 and response.location.endswith("/account/password")
    page = browser.get("/account/password").text
    answer = browser.post("/account/password", data={
        "csrf_token": TOKEN.search(page).group(1), "current_password": PASSWORD,
        "new_password": NEW_PASSWORD})
    assert answer.status_code == 303
    assert browser.get("/cases").status_code == 200  # this session goes on
    assert db.session.get(User, lab.id("tech")).must_change_password is False


def test_bearer_scheme_is_case_insensitive_and_401s_name_the_scheme(app, client, lab):
    token = lab.tokens["tech"]
    for scheme in ("bearer", "BEARER", "Bearer"):
        assert client.get("/api/v1/me", headers={
            "Authorization": f"{scheme} {token}"}).status_code == 200
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="ballistics"'
    wrong = client.get("/api/v1/me", headers={"Authorization": "bearer nope"})
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers[
        "WWW-Authenticate"]
    page = client.get("/login")
    failed = client.post("/login", data={"csrf_token": TOKEN.search(page.text).group(1),
                                         "username": "nobody", "password": "x"})
    assert failed.status_code == 401 and failed.headers["WWW-Authenticate"].startswith("Bearer")
