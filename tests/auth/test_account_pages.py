"""The account pages: "My account" for everyone, "Accounts" for lab managers and admins."""

from __future__ import annotations

import re

from sqlalchemy import select

from ballistics.auth.models import ApiToken
from ballistics.extensions import db
from tests.support.labs import PASSWORD
from tests.support.web import Browser, field_errors

SECRET = re.compile(r'data-testid="secret">([^<]+)<')


def test_my_account_shows_a_new_token_once_and_revokes_it(app, client, lab):
    browser = Browser(app, lab, "examiner")
    response = browser.post("/account/tokens", {"name": "bench script", "password": PASSWORD},
                            expect=201)
    token = SECRET.search(response.text).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 200
    page = browser.get("/account")
    assert token not in page and "bench script" in page
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "bench script",
                                                            ApiToken.user_id == lab.id("examiner")))
    listed = re.findall(r"/account/tokens/(\d+)/revoke", page)
    assert len(listed) == 2 and listed[0] == str(token_id)  # newest first
    browser.post(f"/account/tokens/{token_id}/revoke", {})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


def test_a_weak_password_is_refused_beside_its_field(app, lab):
    browser = Browser(app, lab, "examiner")
    _, page, flashed = browser.submit("/account/password", {"current_password": PASSWORD,
                                                            "new_password": "qwertyuiop12"})
    assert "similar to a commonly used password" in field_errors(page)["new_password"]
    assert flashed and flashed[0][0] == "error"
    wrong = browser.submit("/account/password", {"current_password": "nope nope nope",
                                                 "new_password": "violet ledger canyon m"})
    assert field_errors(wrong[1])["current_password"] == "Wrong password."


def test_managers_add_users_and_change_roles_within_their_grant(app, lab):
    assert "Accounts" not in Browser(app, lab, "examiner").get("/cases")
    Browser(app, lab, "examiner").get("/accounts", expect=403)
    manager = Browser(app, lab, "manager")
    page = manager.get("/accounts")
    assert lab.users["tech"].username in page and "API tokens in the lab" in page
    name = f"pat-{lab.lab.code.lower()}"
    made = manager.post("/accounts", {"username": name, "full_name": "Pat Probe",
                                      "roles": "examiner"}, expect=201)
    link = SECRET.search(made.text).group(1)
    assert "/password/" in link and "Pat Probe" in made.text
    user_id = re.search(r'/accounts/(\d+)">Pat Probe', manager.get("/accounts")).group(1)
    _, page, flashed = manager.submit(f"/accounts/{user_id}/roles", {"roles": "lab_manager"})
    assert flashed[0] == ("error", "You may not grant the role lab manager.")
    assert "Not yours to grant: lab manager." in field_errors(page)["roles"]
    landing, page, flashed = manager.submit(f"/accounts/{user_id}/deactivate", {})
    assert landing.endswith(f"/accounts/{user_id}") and "deactivated" in flashed[0][1]
