"""What the page's scripts write, in a real browser, is in the page's language: the viewer's
flip button (text the template hands it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ballistics.extensions import db
from tests.comparisons.helpers import searched_lab
from tests.support.browser import login
from tests.support.labs import make_lab

pytestmark = pytest.mark.browser


@pytest.fixture
def spanish(pg_app, live_server, browser):
    """An examiner's page in Spanish (the language cookie; the account has no choice saved)
    and their lab's searched cartridge cases."""
    with pg_app.app_context():
        kit = make_lab()
        lead = searched_lab(pg_app.test_client(), kit)
        db.session.commit()
        name = kit.users["examiner"].username
        db.session.remove()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "lang", "value": "es", "url": live_server}])
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, live_server, name)
    yield page, lead
    context.close()


def test_the_viewer_flip_button_speaks_the_page_language(spanish, live_server):
    page, lead = spanish
    page.goto(f"{live_server}/candidates/{lead['candidates'][0]}/view")
    page.click("[data-set-mode=flip]")
    flip = page.locator("#flip-now")
    expect(flip).to_have_text("Se ve la referencia · mostrar la consulta")
    flip.click()
    expect(flip).to_have_text("Se ve la consulta · mostrar la referencia")

