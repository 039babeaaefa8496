"""Languages and time zones: the chosen language is remembered, times are shown in the lab's
zone while stored in UTC, and a bad choice is refused naming the field."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from flask_login import login_user

from ballistics.core.i18n import compile_catalogues, local_datetime
from ballistics.extensions import db
from tests.support.web import TOKEN, Browser

LANG = re.compile(r'<html lang="(\w+)">')


def _lang(page: str) -> str:
    return LANG.search(page).group(1)


def test_browser_language_is_followed_when_nothing_was_chosen(client):
    assert _lang(client.get("/login", headers={"Accept-Language": "es-CO,es;q=0.9"}).text) == "es"
    assert _lang(client.get("/login", headers={"Accept-Language": "fr, en;q=0.5"}).text) == "en"
    assert _lang(client.get("/login", headers={"Accept-Language": "de"}).text) == "en"


def test_choice_before_login_is_kept_in_a_cookie(client):
    token = TOKEN.search(client.get("/login").text).group(1)
    response = client.post("/language", data={"csrf_token": token, "lang": "es",
                                               "next": "/login"})
    assert response.status_code == 302 and response.location == "/login"
    page = client.get("/login", headers={"Accept-Language": "en"}).text
    assert _lang(page) == "es"


def test_choice_is_remembered_on_the_account(app, lab):
    browser = Browser(app, lab, "examiner")
    browser.post("/language", {"lang": "es", "next": "/cases"}, expect=302)
    assert db.session.get(type(lab.users["examiner"]), lab.id("examiner")).locale == "es"
    # a new session on another machine, whose browser asks for English, still gets Spanish
    again = Browser(app, lab, "examiner")
    again.client.delete_cookie("lang")
    assert _lang(again.client.get("/cases", headers={"Accept-Language": "en"}).text) == "es"


def test_unknown_language_is_refused_naming_the_field(app, lab):
    browser = Browser(app, lab, "examiner")
    response = browser.post("/language", {"lang": "xx"}, expect=422)
    assert "lang" in response.text
    assert db.session.get(type(lab.users["examiner"]), lab.id("examiner")).locale is None


def test_open_redirect_through_next_is_refused(app, lab):
    browser = Browser(app, lab, "examiner")
    response = browser.post("/language", {"lang": "en", "next": "//evil.example/x"}, expect=302)
    assert "evil" not in response.location


def test_times_are_shown_in_the_lab_zone(app, lab):
    lab.lab.time_zone = "America/Bogota"  # UTC-5, no daylight saving
    db.session.commit()
    stored = datetime(2026, 3, 1, 14, 30)  # naive UTC, as every *_at column
    with app.test_request_context(headers={"Accept-Language": "en"}):
        login_user(lab.users["examiner"])
        shown = local_datetime(stored)
    assert "9:30" in shown and "America/Bogota" in shown
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "es"}):
        shown = local_datetime(stored)  # nobody logged in: UTC, and the locale's own format
    assert "14:30" in shown and "UTC" in shown


def test_catalogues_compile_atomically(tmp_path):
    po = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Cases"\nmsgstr "Casos"\n', encoding="utf-8")
    compile_catalogues(tmp_path)
    mo = po.with_suffix(".mo")
    assert mo.exists() and b"Casos" in mo.read_bytes()
    assert not list(po.parent.glob("*.tmp"))


def test_a_record_not_in_the_lab_is_named_in_the_readers_language(app, lab, client):
    """'No case 5 in your lab.' names the kind of record in Spanish too ('No hay case 5 en su
    laboratorio.' mixed the languages), on the API and on pages; every kind a lookup names is
    one the catalogue knows."""
    from pathlib import Path

    from ballistics.core.actions import RECORDS

    headers = {**lab.headers("manager"), "Accept-Language": "es"}
    for path, said in (("/api/v1/cases/2147483000", "No hay caso 2147483000"),
                       ("/api/v1/items/2147483000", "No hay indicio 2147483000"),
                       ("/api/v1/sop-versions/2147483000", "No hay versión del POE 2147483000"),
                       ("/api/v1/nonconformities/2147483000", "No hay no conformidad")):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404 and answer.get_json()["message"].startswith(said), (
            path, answer.get_json())
    english = client.get("/api/v1/cases/2147483000", headers=lab.headers("manager"))
    assert english.get_json()["message"] == "No case 2147483000 in your lab."
    root = Path(__file__).resolve().parents[2]
    named = {match for package in ("ballistics", "sop") for source in
             (root / package).rglob("*.py") for match in re.findall(
                 r'(?:what=|_get\(\w+, \w+, )"([^"]+)"', source.read_text())}
    assert named and named <= set(RECORDS), sorted(named - set(RECORDS))


def test_the_apis_own_refusals_follow_accept_language(app, lab, client):
    """The API's human message follows Accept-Language (README) for the refusals of its own
    machinery too: no or a malformed token, a wrong password, a body or query string that
    cannot be read, an id out of range, an address or method it does not serve."""
    token = lab.headers("manager")
    calls = [("GET", "/api/v1/cases", {}, {}, 401),
             ("GET", "/api/v1/cases", {"Authorization": "Basic abc"}, {}, 401),
             ("POST", "/api/v1/tokens", {}, {"json": {"username": "nobody", "password": "x"}},
              401),
             ("POST", "/api/v1/cases", token, {"data": "x", "content_type": "text/plain"}, 422),
             ("POST", "/api/v1/cases", token, {"data": "{", "content_type": "application/json"},
              422),
             ("POST", "/api/v1/cases", token, {"json": [1]}, 422),
             ("GET", "/api/v1/cases?q=a&q=b", token, {}, 422),
             ("GET", "/api/v1/me?x=1", token, {}, 422),
             ("GET", "/api/v1/cases/2147483648", token, {}, 422),
             ("GET", "/api/v1/nowhere", token, {}, 404),
             ("DELETE", "/api/v1/me", token, {}, 405)]
    for method, path, headers, extra, status in calls:
        english = client.open(path, method=method, headers=headers, **extra)
        spanish = client.open(path, method=method, headers={**headers, "Accept-Language": "es"},
                              **extra)
        assert english.status_code == spanish.status_code == status, (path, english.get_json())
        said, dicho = english.get_json()["message"], spanish.get_json()["message"]
        assert said != dicho and not _english_words(dicho), (method, path, said, dicho)
        assert english.get_json()["fields"].keys() == spanish.get_json()["fields"].keys()


def _english_words(message: str) -> list[str]:
    words = {"the", "body", "required", "send", "given", "operation", "address",
             "unknown", "wrong", "range", "method", "not", "valid", "requested", "url"}
    return [w for w in re.findall(r"[a-z]+", message.lower()) if w in words]


def test_the_api_speaks_the_tokens_account_language_else_accept_language(app, lab, client):
    """The document promises messages 'in the caller's language (their account's, else
    Accept-Language)': an account that chose Spanish reads the API in Spanish (it read
    English unless each request sent Accept-Language)."""
    from ballistics.auth.models import User

    headers = lab.headers("manager")
    assert client.get("/api/v1/cases/2147483000", headers=headers).get_json()[
        "message"] == "No case 2147483000 in your lab."
    db.session.get(User, lab.id("manager")).locale = "es"
    db.session.commit()
    for extra in ({}, {"Accept-Language": "en"}):
        answer = client.get("/api/v1/cases/2147483000", headers={**headers, **extra})
        assert answer.get_json()["message"] == "No hay caso 2147483000 en su laboratorio.", extra
    others = lab.headers("examiner")  # an account with no choice: Accept-Language
    assert client.get("/api/v1/cases/2147483000", headers={
        **others, "Accept-Language": "es"}).get_json()["message"].startswith("No hay caso")


def test_a_refusal_after_a_failed_flush_is_said_in_the_accounts_language(app, lab):
    """Two hand-overs at once: the loser's flush fails, and its refusal is translated only
    then. The account (whose language it is) could not be loaded in the failed transaction,
    so the refusal was a 500. The language is settled when the request starts, for the API's
    token and for a signed-in page."""
    from flask import g
    from flask_babel import gettext
    from sqlalchemy.exc import IntegrityError

    from ballistics.auth.models import Lab, User

    db.session.get(User, lab.id("manager")).locale = "es"
    db.session.commit()
    token = lab.headers("manager")["Authorization"]
    for path, headers in (("/api/v1/me", {"Authorization": token}), ("/cases", {})):
        with app.test_request_context(path, headers=headers):
            if not headers:
                login_user(db.session.get(User, lab.id("manager")))
            app.preprocess_request()
            db.session.expire_all()  # as a rollback leaves every object
            db.session.add(Lab(code=lab.lab.code, name="a second lab of the same code"))
            with pytest.raises(IntegrityError):
                db.session.flush()
            assert gettext("Item %(barcode)s is not in storage (it is with %(holder_label)s); "
                           "hand it over instead.", barcode="X", holder_label="Y"
                           ).startswith("El indicio X"), path
            db.session.rollback()
            g.pop("api_user", None)
