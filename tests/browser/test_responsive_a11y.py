"""At the bench, on a phone or a tablet: no page scrolls sideways at 390 px (wide tables
scroll inside their own box, long names, file names and hashes wrap), and the main pages pass
axe-core with no serious or critical violation; the keyboard reaches everything with a visible
focus, starting with a skip link.

The pages are :data:`tests.support.pages.PAGES`; a new page is one line there."""

from __future__ import annotations

import pytest

from tests.support.axe import axe_script, blocking, describe, run_axe
from tests.support.browser import ARTIFACTS, login, screenshot
from tests.support.pages import LONG_FILENAME, PAGES, Page, seed_site

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("responsive-a11y")]

PHONE = 390
DESKTOP = 1280


@pytest.fixture(scope="module")
def site(pg_app) -> dict:
    return seed_site(pg_app)


@pytest.fixture(scope="module")
def contexts(browser, live_server, site):
    """One logged-in browser context per (user, viewport width), reused across pages."""
    made: dict = {}

    def get(who: str | None, width: int, locale: str = "en-GB"):
        if (who, width, locale) not in made:
            # The locale is the browser's Accept-Language, which picks the page language.
            context = browser.new_context(viewport={"width": width, "height": 844},
                                          device_scale_factor=1, locale=locale)
            if who is not None:
                tab = context.new_page()
                login(tab, live_server, site["users"][who])
                tab.close()
            made[(who, width, locale)] = context
        return made[(who, width, locale)]

    yield get
    for context in made.values():
        context.close()


def _open(spec: Page, site: dict, pg_app, live_server, contexts, monkeypatch, width: int,
          locale: str = "en-GB"):
    for key, value in spec.config.items():
        monkeypatch.setitem(pg_app.config, key,
                            value.format(**site) if isinstance(value, str) else value)
    tab = contexts(spec.who, width, locale).new_page()
    tab.set_default_timeout(20000)
    response = tab.goto(live_server + spec.path.format(**site))
    assert response is not None and response.status == 200, (spec.path, response and
                                                              response.status)
    assert "/login" not in tab.url or spec.who is None, f"{spec.who} was sent to the login"
    tab.wait_for_load_state("load")
    return tab


#: the elements that stick out past the right edge, innermost first (for the failure message)
WIDEST = """(limit) => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > limit + 0.5 && r.width > 0) {
      const inner = [...el.children].some(c => c.getBoundingClientRect().right > limit + 0.5);
      if (!inner) out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
        `${el.className && typeof el.className === 'string' ? '.' + el.className.trim()
            .replace(/\\s+/g, '.') : ''} right=${Math.round(r.right)}`);
    }
  }
  return out.slice(0, 12);
}"""


#: table cells squeezed to a few letters per line (a long value wrapping "anywhere" lets the
#: table shrink its column to one character: no overflow, but a page tens of metres long)
SQUEEZED = """() => [...document.querySelectorAll('td, th')]
  .filter(c => c.innerText.trim().length > 24 && c.getBoundingClientRect().width < 64)
  .slice(0, 8).map(c => `${c.tagName.toLowerCase()}.${c.className} `
    + `${Math.round(c.getBoundingClientRect().width)} px: ${c.innerText.trim().slice(0, 40)}`)"""


#: every page in English; the issue's main pages in Spanish too (its words run longer)
PHONE_RUNS = ([(p, "en-GB") for p in PAGES] + [(p, "es-ES") for p in PAGES if p.axe])


@pytest.mark.parametrize(("spec", "locale"), PHONE_RUNS,
                         ids=[f"{p.name}-{loc[:2]}" for p, loc in PHONE_RUNS])
def test_no_horizontal_scroll_at_390px(spec, locale, site, pg_app, live_server, contexts,
                                       monkeypatch):
    tab = _open(spec, site, pg_app, live_server, contexts, monkeypatch, PHONE, locale)
    try:
        assert tab.evaluate("() => document.documentElement.lang") == locale[:2]
        width = tab.evaluate("() => document.documentElement.scrollWidth")
        screenshot(tab, f"responsive/{spec.name}-{locale[:2]}-390")
        assert width <= PHONE, (f"{spec.name} is {width} px wide at {PHONE} px: "
                                f"{tab.evaluate(WIDEST, PHONE)}")
        squeezed = tab.evaluate(SQUEEZED)
        assert not squeezed, f"{spec.name}: columns squeezed at {PHONE} px: {squeezed}"
    finally:
        tab.close()


def test_long_file_name_and_title_are_on_the_pages(site, pg_app, live_server, contexts,
                                                   monkeypatch):
    """The overflow test above proves something only if the long values are really shown."""
    item = next(p for p in PAGES if p.name == "item")
    tab = _open(item, site, pg_app, live_server, contexts, monkeypatch, PHONE)
    name = tab.locator(".filename", has_text=LONG_FILENAME)
    assert name.count() == 1 and name.is_visible()
    box = name.bounding_box()
    # It wraps (several lines) to a width narrower than the phone, not one 2,000 px line.
    assert box is not None and box["width"] < PHONE and box["height"] > 60, box
    tab.close()
    case = next(p for p in PAGES if p.name == "case")
    tab = _open(case, site, pg_app, live_server, contexts, monkeypatch, PHONE)
    assert "Estación-Central-de-Ferrocarril" in tab.locator("main").inner_text()
    tab.close()


@pytest.fixture(scope="module")
def axe() -> object:
    return axe_script()


#: every page on a desktop; the pages the issue names (``axe=True``) on a phone as well
AXE_RUNS = ([(p, DESKTOP) for p in PAGES] + [(p, PHONE) for p in PAGES if p.axe])


@pytest.mark.parametrize(("spec", "width"), AXE_RUNS,
                         ids=[f"{p.name}-{w}" for p, w in AXE_RUNS])
def test_axe_no_serious_violation(spec, width, axe, site, pg_app, live_server, contexts,
                                  monkeypatch):
    tab = _open(spec, site, pg_app, live_server, contexts, monkeypatch, width)
    try:
        found = run_axe(tab, axe)
        minor = [v for v in found if v not in blocking(found)]
        record = ARTIFACTS / f"axe-{spec.name}-{width}-minor.txt"
        if minor:  # kept for the record, not failed on
            ARTIFACTS.mkdir(exist_ok=True)
            record.write_text(describe(minor) + "\n")
        else:
            record.unlink(missing_ok=True)
        assert not blocking(found), f"{spec.name} at {width} px:\n{describe(blocking(found))}"
    finally:
        tab.close()


FOCUS_RING = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || el.name || '').trim(),
          href: el.getAttribute('href'), outline: `${s.outlineStyle} ${s.outlineWidth}`,
          ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                || s.boxShadow !== 'none'};
}"""


@pytest.mark.parametrize("name", ["login", "item", "quality"])
def test_keyboard_skip_link_and_visible_focus(name, site, pg_app, live_server, contexts,
                                              monkeypatch):
    """Tab from the top: the first stop is a skip link to the main content, and every stop
    after it shows a focus ring; Enter on the skip link lands in the main content."""
    spec = next(p for p in PAGES if p.name == name)
    tab = _open(spec, site, pg_app, live_server, contexts, monkeypatch, DESKTOP)
    try:
        # The browser applies autofocus at a later rendering step, not at load: on a busy
        # machine a Tab pressed before it went from the focused username to the password.
        tab.wait_for_function("() => { const f = document.querySelector('[autofocus]');"
                              " return !f || document.activeElement === f; }")
        if tab.evaluate("() => document.activeElement === document.body"):
            tab.keyboard.press("Tab")
        else:  # a field with autofocus (login): the skip link is still the first stop
            for _ in range(10):
                if tab.evaluate("() => document.activeElement.matches('a.skip')"):
                    break
                tab.keyboard.press("Shift+Tab")
        first = tab.evaluate(FOCUS_RING)
        assert first["href"] == "#content" and first["ring"], first
        assert tab.locator("a.skip").is_visible()  # shown when focused
        tab.keyboard.press("Enter")
        assert tab.evaluate("() => document.activeElement.id") == "content"
        stops = []
        for _ in range(25):
            tab.keyboard.press("Tab")
            stop = tab.evaluate(FOCUS_RING)
            if stop["tag"] == "body":
                break
            stops.append(stop)
        assert stops, "nothing in the main content takes the keyboard focus"
        assert all(s["ring"] for s in stops), [s for s in stops if not s["ring"]]
        screenshot(tab, f"keyboard-{name}", full_page=False)
    finally:
        tab.close()
