"""Accounts and access: passwords, tokens, login, CSRF, rate limits, headers, OpenAPI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ballistics.auth.models import ApiToken, User
from ballistics.core.api import OPERATIONS
from ballistics.extensions import db, limiter
from tests.support.labs import PASSWORD
from tests.support.services import migrated_app


def test_passwords_are_argon2id_hashes_and_tokens_are_stored_hashed(app, client, lab):
    user = db.session.get(User, lab.id("tech"))
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    response = client.post("/api/v1/tokens", json={"username": user.username,
                                                   "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    stored = db.session.scalars(select(ApiToken.token_hash).where(
        ApiToken.user_id == user.id)).all()
    assert token not in stored and ApiToken.digest(token) in stored
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["username"] == user.username and me["roles"] == ["evidence_technician"]
    wrong = client.post("/api/v1/tokens", json={"username": user.username, "password": "x"})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "unauthorized"
    assert client.post("/api/v1/tokens", json={"username": "nobody", "password": "x"}
                       ).status_code == 401


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_login_form_needs_csrf_and_sets_a_hardened_session(app, client, lab):
    username = lab.users["examiner"].username
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 400  # no CSRF token
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": _csrf(page.get_data(as_text=True))})
    assert response.status_code == 302
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie")
                          if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert client.get("/cases").status_code == 200
    # The API ignores the session cookie: bearer tokens only.
    assert client.get("/api/v1/cases").status_code == 401


def test_security_headers_on_pages_and_api(app, client):
    for path in ("/login", "/api/v1/openapi.json"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_security_headers_once_each_hsts_on_https_only(app, client):
    api = client.get("/api/v1/openapi.json", base_url="https://localhost").headers
    assert api["Strict-Transport-Security"].startswith("max-age=31536000")
    assert api.getlist("Cache-Control") == ["no-store"]
    page = client.get("/login").headers  # its Cache-Control is set twice over: kept once
    assert "Strict-Transport-Security" not in page
    for name in ("Cache-Control", "Content-Security-Policy", "X-Frame-Options",
                 "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy",
                 "Cross-Origin-Opener-Policy"):
        assert len(page.getlist(name)) == 1, name


@pytest.fixture
def rate_limited_app(tmp_path):
    app = migrated_app(f"sqlite:///{tmp_path / 'rl.sqlite'}", tmp_path,
                       RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    yield app
    # Flask-Limiter keeps one switch and one counter store per process, not per app: restore
    # them, or every later test app in this process would be limited too.
    with app.app_context():
        limiter.reset()
    limiter.enabled = False


def test_login_is_rate_limited(rate_limited_app):
    client = rate_limited_app.test_client()
    codes = [client.post("/api/v1/tokens", json={"username": "x", "password": "y"}).status_code
             for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    body = client.post("/api/v1/tokens", json={"username": "x", "password": "y"}).get_json()
    assert body["error"] == "too_many_requests" and body["message"]


def test_openapi_document_lists_every_operation_with_the_error_shape(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "message", "fields"]
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for op in OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
        assert (path, op.method.lower()) in documented
    transfer = spec["paths"]["/api/v1/items/{item_id}/transfer"]["post"]
    assert set(transfer["responses"]) >= {"201", "401", "404", "409", "422"}
    schema_ref = transfer["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/Transfer")


@pytest.mark.parametrize("path", ["/cases", "/cases/1", "/items/1"])
def test_pages_require_login(app, client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
