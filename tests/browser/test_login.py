"""The login page in a real browser."""

from __future__ import annotations

from ballistics.extensions import db
from tests.support.browser import login, screenshot
from tests.support.labs import make_lab


def test_login_then_case_list(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        username = kit.users["tech"].username
        db.session.remove()
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Unknown username or wrong password" in page.content()
    login(page, live_server, username)
    assert page.url.endswith("/cases")
    assert page.locator("h1").inner_text() == "Cases"
    screenshot(page, "login-case-list")
