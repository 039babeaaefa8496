"""What the page's scripts write, in a real browser, is in the page's language: the viewer's
flip button (text the template hands it) and the live search counter (numbers grouped as the
server groups them: 4465 but 12.345 in Spanish, CLDR's minimum grouping digits)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from ballistics.comparisons.models import Search
from ballistics.core.numbers import number
from ballistics.extensions import db
from tests.comparisons.helpers import searched_lab
from tests.support.browser import login, screenshot
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


def test_the_live_search_counter_groups_as_the_server_does(spanish, pg_app, live_server):
    page, lead = spanish
    with pg_app.app_context():  # the search is still comparing: the page polls its status
        search = db.session.get(Search, lead["search"])
        search.status, search.progress_done, search.progress_total = "comparing", 4465, 12345
        db.session.commit()
        with pg_app.test_request_context(), force_locale("es"):
            server = f"{number(4465)} / {number(12345)}", f"{number(4466)} / {number(12345)}"
        db.session.remove()
    assert server == ("4465 / 12.345", "4466 / 12.345")  # Spanish groups from five digits
    # The next status the page reads says one more comparison is done.
    page.route(f"**/searches/{lead['search']}/status.json", lambda route: route.fulfill(
        json={"status": "comparing", "reason": None, "done": 4466, "total": 12345,
              "final": False}))
    page.goto(f"{live_server}/searches/{lead['search']}")
    counter = page.locator("[data-progress]")
    expect(counter).to_have_text(server[0])  # as the server wrote it
    expect(counter).to_have_text(server[1])  # as poll.js rewrote it
    screenshot(page, "search-counter-es")


def test_labels_start_with_a_capital_only(spanish, live_server):
    """A label is capitalised as a sentence: Spanish writes "En custodia", not "En Custodia"
    (CSS capitalize put a capital on every word)."""
    page, lead = spanish
    page.goto(f"{live_server}/items/{lead['items'][0]['id']}")
    expect(page.locator("dd .status")).to_have_text("En custodia", use_inner_text=True)
    style = page.locator("dd .status").evaluate(
        "e => [getComputedStyle(e).textTransform,"
        " getComputedStyle(e, '::first-letter').textTransform]")
    assert style == ["none", "uppercase"]
    expect(page.locator("h1 small")).to_have_text("Vaina", use_inner_text=True)
    screenshot(page, "label-capital-es")
    # a username is shown as it is typed at login, not capitalised
    page.goto(f"{live_server}/account")
    username = page.locator("h1 small").inner_text().split(" · ")[0]
    assert username == username.lower() and username.startswith("examiner-")
