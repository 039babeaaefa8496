"""A lab manager deactivating an account in a real browser: pressed without the box ticked,
nothing changes and the box (naming the user and the API tokens it revokes) says why; ticked,
the account is deactivated and its tokens revoked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from ballistics.auth.models import ApiToken, User
from ballistics.extensions import db
from tests.support.browser import login, screenshot
from tests.support.labs import make_lab

pytestmark = pytest.mark.browser


def _state(pg_app, user_id: int) -> tuple[bool, int]:
    with pg_app.app_context():
        active = db.session.get(User, user_id).is_active_account
        working = db.session.scalar(select(func.count(ApiToken.id)).where(
            ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)))
        db.session.remove()
    return active, working


def test_deactivation_asks_first(pg_app, live_server, page):
    with pg_app.app_context():
        kit = make_lab()
        db.session.commit()
        manager, tech = kit.users["manager"].username, kit.users["tech"]
        tech_id, tech_name = tech.id, tech.username
        db.session.remove()

    login(page, live_server, manager)
    page.goto(f"{live_server}/accounts/{tech_id}")
    form = page.locator("#deactivate-form")
    expect(form.locator("label.check")).to_contain_text(
        f"{tech_name} (Tech) can no longer sign in, their sessions end and their 1 working API "
        "token stops working for good.")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash").first).to_contain_text("Tick the box to confirm")
    expect(page.locator("#deactivate-form [data-field-error=confirm]")).to_contain_text(tech_name)
    assert _state(pg_app, tech_id) == (True, 1)
    page.locator("#deactivate-form input[name=confirm]").check()
    page.locator("#deactivate-form button[type=submit]").click()
    expect(page.locator(".flash").first).to_have_text(
        f"{tech_name} deactivated: sessions ended, API tokens revoked.")
    expect(page.locator("#deactivate-form")).to_have_count(0)
    screenshot(page, "accounts-deactivated")
    assert _state(pg_app, tech_id) == (False, 0)
