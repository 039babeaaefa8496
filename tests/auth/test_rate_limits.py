"""Rate limits that hold: shared by every web process, keyed per account and per client
address (behind a trusted proxy only when told), Retry-After on every 429, per-user limits on
manual searches and uploads."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask

from ballistics.extensions import db, limiter
from tests.support.labs import make_lab
from tests.support.services import REPO, free_port, migrated_app, redis_server
from tests.support.web import TOKEN, Browser


@pytest.fixture
def limited_app(tmp_path) -> Iterator[Callable[..., Flask]]:
    """Apps with rate limiting on (the embedded memory store), made with the given settings."""
    made: list[Flask] = []

    def make(**settings) -> Flask:
        folder = tmp_path / f"app{len(made)}"
        folder.mkdir()
        app = migrated_app(f"sqlite:///{folder / 'rl.sqlite'}", folder, RATELIMIT_ENABLED=True,
                           **settings)
        made.append(app)
        return app

    yield make
    # Flask-Limiter keeps one switch and one counter store per process, not per app: restore
    # them, or every later test app in this process would be limited too.
    for app in made:
        with app.app_context():
            limiter.reset()
            db.engine.dispose()
    limiter.enabled = False


def _wrong_login(client, username: str, address: str | None = None):
    headers = {"X-Forwarded-For": address} if address else {}
    return client.post("/api/v1/tokens", json={"username": username, "password": "wrong"},
                       headers=headers)


def _retry_after(response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 1 <= seconds <= 61  # the window (60 s), rounded up to whole seconds
    return seconds


def test_login_limit_per_account_is_shared_by_page_and_api_with_retry_after(limited_app):
    app = limited_app(RATELIMIT_LOGIN="2 per minute")
    client = app.test_client()
    assert [_wrong_login(client, "Probe").status_code for _ in range(2)] == [401, 401]
    limited = _wrong_login(client, "probe")  # the same account, however it is spelled
    assert limited.status_code == 429 and limited.get_json()["error"] == "too_many_requests"
    _retry_after(limited)
    page = client.get("/login")
    refused = client.post("/login", data={"csrf_token": TOKEN.search(page.text).group(1),
                                          "username": "probe", "password": "wrong"})
    assert refused.status_code == 429 and "429" in refused.text
    _retry_after(refused)
    assert _wrong_login(client, "someone-else").status_code == 401  # another account


def test_client_address_comes_from_a_trusted_proxy_only(limited_app):
    settings = {"RATELIMIT_LOGIN": "100 per minute", "RATELIMIT_LOGIN_ADDRESS": "2 per minute"}
    behind = limited_app(TRUSTED_PROXIES=1, **settings).test_client()
    a, b = "203.0.113.7", "198.51.100.9"  # documentation addresses, only header values here
    assert [_wrong_login(behind, f"a{i}", a).status_code for i in range(3)] == [401, 401, 429]
    assert _wrong_login(behind, "b0", b).status_code == 401  # another client, its own count
    direct = limited_app(**settings).test_client()
    assert [_wrong_login(direct, f"a{i}", a).status_code for i in range(2)] == [401, 401]
    # Without a trusted proxy the header is ignored: it is the same client (the peer address).
    assert _wrong_login(direct, "b0", b).status_code == 429


def test_manual_searches_and_uploads_are_limited_per_user(limited_app):
    app = limited_app(RATELIMIT_SEARCH="2 per minute", RATELIMIT_UPLOAD="1 per minute")
    with app.app_context():
        kit = make_lab()
        headers = {who: kit.headers(who) for who in ("examiner", "examiner2")}
        client = app.test_client()
        page = Browser(app, kit, "examiner")
        search = "/scans/999999/searches"
        assert client.post(f"/api/v1{search}", json={}, headers=headers["examiner"]
                           ).status_code == 404
        page.post(search, {}, expect=404)  # the page and the API share the user's count
        limited = client.post(f"/api/v1{search}", json={}, headers=headers["examiner"])
        assert limited.status_code == 429
        _retry_after(limited)
        _retry_after(page.post(search, {}, expect=429))
        assert client.post(f"/api/v1{search}", json={}, headers=headers["examiner2"]
                           ).status_code == 404  # another user is not held up
        upload = "/api/v1/items/999999/scans"
        form = {"data": {"calibre": "9mm"}, "content_type": "multipart/form-data"}
        assert client.post(upload, headers=headers["examiner"], **form).status_code == 404
        assert client.post(upload, headers=headers["examiner"], **form).status_code == 429


def _wait_port(port: int, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), 1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def _wait_both_workers(port: int, access) -> None:
    """The port opens when the master binds; a worker still loading the app would leave every
    attempt to the other. Cheap unlimited requests until the access log names two workers."""
    deadline = time.monotonic() + 120
    with ThreadPoolExecutor(4) as pool:
        while time.monotonic() < deadline:
            list(pool.map(lambda _i: requests.get(
                f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=60), range(4)))
            pids = {line.split()[0] for line in access.read_text().splitlines() if line.strip()}
            if len(pids) >= 2:
                return
    raise AssertionError("the second gunicorn worker never answered")


@pytest.mark.slow
def test_thirty_wrong_logins_over_two_gunicorn_workers_share_one_count(tmp_path):
    """Real gunicorn processes with the Redis store: at most the configured number of the 30
    attempts get an answer (401); the rest are refused (429) whichever worker takes them."""
    app = migrated_app(f"sqlite:///{tmp_path / 'gu.sqlite'}", tmp_path)
    with app.app_context():
        username = make_lab().users["examiner"].username
        db.engine.dispose()
    redis_port, port, allowed = free_port(), free_port(), 10
    access = tmp_path / "access.log"
    errors = tmp_path / "error.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'gu.sqlite'}",
           "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
           "RATELIMIT_LOGIN": f"{allowed} per minute", "RATELIMIT_LOGIN_ADDRESS": "100/minute"}
    with redis_server(redis_port):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(U)s",
             "--error-logfile", str(errors), "wsgi:app"],
            cwd=REPO, env=env, start_new_session=True)
        try:
            _wait_port(port, proc, errors)
            _wait_both_workers(port, access)
            url = f"http://127.0.0.1:{port}/api/v1/tokens"
            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(lambda _i: requests.post(url, timeout=60, json={
                    "username": username, "password": "wrong guess"}), range(30)))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429} and 1 <= codes.count(401) <= allowed, codes
    assert all(1 <= int(a.headers["Retry-After"]) <= 61 for a in answers if a.status_code == 429)
    workers = {re.match(r"<?(\d+)>?", line).group(1)
               for line in access.read_text().splitlines() if "/api/v1/tokens" in line}
    assert len(workers) == 2, access.read_text()  # both workers answered some of them


def test_views_skipped_by_the_limiter_are_exactly_those_without_a_limit(limited_app):
    """The limiter's per-request work is skipped for views that carry no limit
    (``ballistics.core.ratelimit._unlimited_view``): that set must be exactly the views
    Flask-Limiter itself has no limit for, or a limit added some other way would be skipped."""
    from flask_limiter.util import get_qualified_name

    from ballistics.core.ratelimit import LIMITED, _unlimited_view

    app = limited_app()
    assert not limiter.limit_manager.default_limits
    assert not limiter.limit_manager.application_limits
    marked = {endpoint for endpoint, view in app.view_functions.items()
              if getattr(view, LIMITED, False)}
    with app.app_context():  # the limits read the app's settings
        limited = {endpoint for endpoint, view in app.view_functions.items()
                   if limiter.limit_manager.decorated_limits(get_qualified_name(view))}
    assert marked == limited
    assert {"auth.login", "auth_api.token_create_post", "comparisons_api.search_create_post",
            "comparisons_api.scan_upload_post"} <= marked
    # a view without a limit is skipped; a limited one is counted (by the tests above)
    with app.test_request_context("/api/v1/me"):
        assert _unlimited_view() is True
    with app.test_request_context("/api/v1/tokens", method="POST"):
        assert _unlimited_view() is False


def test_a_429_says_when_to_come_back_in_the_readers_language(limited_app):
    """The message of a 429 is a sentence for a person, in their language, with the wait the
    Retry-After header gives (it was the limiter's '2 per 1 minute', in English)."""
    client = limited_app(RATELIMIT_LOGIN="1 per minute").test_client()
    assert _wrong_login(client, "probe").status_code == 401
    for language, start in (("en", "Too many requests in a short time"),
                            ("es", "Demasiadas solicitudes en poco tiempo")):
        refused = client.post("/api/v1/tokens", json={"username": "probe", "password": "x"},
                              headers={"Accept-Language": language})
        assert refused.status_code == 429
        message = refused.get_json()["message"]
        assert message.startswith(start) and f" {_retry_after(refused)} " in message, message
