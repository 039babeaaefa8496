"""The account pages: "My account" for everyone, "Accounts" for lab managers and admins."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from ballistics.auth import services
from ballistics.auth.models import ApiToken, User
from ballistics.extensions import db
from tests.support.labs import PASSWORD
from tests.support.web import Browser, field_errors, flashes

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
    revoke = f"/account/tokens/{token_id}/revoke"
    assert "“bench script” of " in _box(page, revoke) and "for good" in _box(page, revoke)
    # Unticked, the token is not revoked and the page says why, beside the box.
    for unticked in ({}, {"confirm": ""}):
        _, text, flashed = browser.submit(revoke, unticked)
        assert flashed[0][0] == "error" and "Tick the box to confirm" in flashed[0][1]
        assert "bench script" in field_errors(text)["confirm"]
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                          ).status_code == 200
    _, _, flashed = browser.submit(revoke, {"confirm": "y"})
    assert flashed == [("success", "Token “bench script” revoked.")]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


def _box(page: str, action: str) -> str:
    """The label of the confirmation box in the form posting to ``action``."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    assert 'type="checkbox"' in form and 'name="confirm"' in form
    return html.unescape(re.search(r'<label class="check">.*?>\s*(.*?)</label>', form, re.S)
                         .group(1))


def _live(lab, who: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(ApiToken.id)).where(
        ApiToken.user_id == lab.id(who), ApiToken.revoked_at.is_(None)))


def test_a_manager_revokes_tokens_only_once_confirmed(app, lab):
    manager = Browser(app, lab, "manager")
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == lab.id("tech")))
    one = f"/accounts/tokens/{token_id}/revoke"
    assert "of " + lab.users["tech"].username in _box(manager.get("/accounts"), one)
    _, text, flashed = manager.submit(one, {})
    assert flashed[0][0] == "error" and lab.users["tech"].username in field_errors(text)[
        "confirm"]
    assert _live(lab, "tech") == 1
    _, _, flashed = manager.submit(one, {"confirm": "y"})
    assert flashed[0][0] == "success" and _live(lab, "tech") == 0

    every = f"/accounts/{lab.id('examiner')}/revoke-tokens"
    page = manager.get(f"/accounts/{lab.id('examiner')}")
    assert "every API token of " + lab.users["examiner"].username in _box(page, every)
    _, text, flashed = manager.submit(every, {})
    assert flashed[0][0] == "error" and "confirm" in field_errors(text)
    assert _live(lab, "examiner") == 1
    _, _, flashed = manager.submit(every, {"confirm": "y"})
    assert flashed[0][0] == "success" and _live(lab, "examiner") == 0


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
    landing, page, flashed = manager.submit(f"/accounts/{user_id}/deactivate",
                                            {"confirm": "y"})
    assert landing.endswith(f"/accounts/{user_id}") and "deactivated" in flashed[0][1]


def test_deactivating_asks_first_naming_the_user_and_their_working_tokens(app, lab):
    """Deactivation revokes every working API token (reactivating does not bring them back),
    so, like revoking tokens, it is done only with the box ticked that names the account and
    how many tokens stop working; unticked, it answers 422 and nothing changes."""
    tech = lab.users["tech"]
    services.issue_token(tech, "bench scanner")
    db.session.commit()
    manager = Browser(app, lab, "manager")
    action = f"/accounts/{tech.id}/deactivate"
    box = _box(manager.get(f"/accounts/{tech.id}"), action)
    assert f"{tech.username} ({tech.full_name}) can no longer sign in" in box
    assert "their 2 working API tokens stop working for good" in box
    for unticked in ({}, {"confirm": ""}):
        response = manager.post(action, unticked, expect=422)
        assert "Tick the box to confirm" in flashes(response.text)[0][1]
        assert "2 working API tokens" in field_errors(response.text)["confirm"]
        db.session.expire_all()
        assert db.session.get(User, tech.id).is_active_account and _live(lab, "tech") == 2
    _, page, flashed = manager.submit(action, {"confirm": "y"})
    assert flashed == [("success", f"{tech.username} deactivated: sessions ended, API tokens "
                                   "revoked.")]
    db.session.expire_all()
    assert not db.session.get(User, tech.id).is_active_account and _live(lab, "tech") == 0
    assert 'id="deactivate-form"' not in page  # reactivate instead


def test_the_deactivation_box_says_when_there_is_no_token_to_revoke(app, lab):
    manager = Browser(app, lab, "manager")
    tech = lab.users["tech"]
    revoke_all = f"/accounts/{tech.id}/revoke-tokens"
    manager.submit(revoke_all, {"confirm": "y"})
    box = _box(manager.get(f"/accounts/{tech.id}"), f"/accounts/{tech.id}/deactivate")
    assert box.endswith("they have no working API token.")


def test_the_deactivation_box_in_spanish(app, lab):
    manager = Browser(app, lab, "manager")
    manager.client.set_cookie("lang", "es")
    tech = lab.users["tech"]
    box = _box(manager.get(f"/accounts/{tech.id}"), f"/accounts/{tech.id}/deactivate")
    assert tech.username in box and "1 token de API" in box, box


def test_the_list_links_only_the_accounts_the_reader_may_open(app, lab):
    """A manager may not manage an admin's account (its page is a 403): the list names it
    without a link, saying who manages it; an admin sees every link."""
    manager = Browser(app, lab, "manager")
    page = manager.get("/accounts")
    admin_page, examiner_page = (f"/accounts/{lab.id(w)}" for w in ("admin", "examiner"))
    assert f'href="{examiner_page}"' in page and f'href="{admin_page}"' not in page
    assert "(managed by an admin)" in page
    manager.get(admin_page, expect=403)
    assert f'href="{admin_page}"' in Browser(app, lab, "admin").get("/accounts")


def test_a_new_account_without_a_role_says_to_choose_one(app, lab):
    """No role ticked read 'La longitud debe estar entre 1 y 5.' beside the role boxes."""
    manager = Browser(app, lab, "manager")
    manager.client.set_cookie("lang", "es")
    _, page, flashes = manager.submit("/accounts", {"username": "sin.rol",
                                                    "full_name": "Sin Rol"})
    assert field_errors(page) == {"roles": "Elija entre 1 y 5 roles."}, field_errors(page)
    assert flashes[0][0] == "error" and "Roles: Elija entre 1 y 5 roles." in flashes[0][1]
