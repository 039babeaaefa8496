"""Languages and time zones: English and Spanish pages, times shown in the lab's zone.

Stored times stay naive UTC (:mod:`ballistics.core.timeutil`); only what a person reads is
converted. The language is the user's saved choice (on the API, the bearer token's account's),
else the ``lang`` cookie (so the login page too speaks the language chosen before), else the
browser's ``Accept-Language``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytz
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, format_date, format_datetime, get_locale
from flask_login import current_user

from ballistics.core.labels import label
from ballistics.core.numbers import number, percent, significant

#: the languages every page is translated to; the first is the source language
LANGUAGES = ("en", "es")
LANG_COOKIE = "lang"
_ROOT = Path(__file__).resolve().parent.parent.parent
#: one catalogue per domain package that has pages, merged at run time (Flask-Babel reads every
#: directory), so a domain's strings and their translations live beside its templates
TRANSLATIONS = (_ROOT / "ballistics" / "translations", _ROOT / "sop" / "translations")

babel = Babel()


def select_locale() -> str:
    if not has_request_context():  # a worker or the CLI: messages in the source language
        return LANGUAGES[0]
    user = _user() or g.get("api_user")  # signed in to pages, or the API's bearer token
    if user is not None and getattr(user, "locale", None) in LANGUAGES:
        return user.locale
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def select_timezone() -> str:
    user = _user()
    lab = getattr(user, "lab", None)
    return getattr(lab, "time_zone", None) or "UTC"


def valid_time_zone(name: str) -> bool:
    return name in pytz.all_timezones_set


def local_datetime(ts: datetime | None, fmt: str = "medium") -> str:
    """A stored UTC time in the reader's lab zone and locale, with the zone named."""
    if ts is None:
        return "—"
    return f"{format_datetime(ts, fmt)} {select_timezone()}"  # converts from UTC itself


def local_date(ts: datetime | None, fmt: str = "medium") -> str:
    """The date of a stored UTC time as the lab sees it (late evening UTC is the day before)."""
    return "—" if ts is None else format_date(ts, fmt)


#: Babel skeletons of a month: full ("March 2026", "marzo de 2026"), its abbreviation on a chart's
#: axis ("Mar", "mar") and its year
MONTH_FORMATS = {"full": "yMMMM", "short": "MMM", "year": "y"}


def month_name(key: str, form: str = "full") -> str:
    """A month key ("2026-03", as the dashboard groups by) as the reader's locale names it:
    the skeleton lets each language order and join month and year its own way."""
    year, month = (int(part) for part in key.split("-"))
    return format_skeleton(MONTH_FORMATS[form], date(year, month, 1),
                           locale=get_locale() or LANGUAGES[0])


def _user():
    try:
        return current_user if current_user and current_user.is_authenticated else None
    except (AttributeError, RuntimeError):  # outside a request (CLI, worker)
        return None


def compile_catalogues(*roots: Path) -> None:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older, atomically (several
    processes may start at once). Only the .po files are kept in git."""
    for po in (po for root in roots or TRANSLATIONS for po in root.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(map(str, TRANSLATIONS)))
    try:
        compile_catalogues()
    except OSError:  # a read-only install: the packaging step compiled them
        app.logger.warning("could not compile translation catalogues in %s", TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["localdate"] = local_date
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["month"] = month_name
    # numbers a person reads, in their locale (ballistics.core.numbers)
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["significant"] = significant
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES

    @app.context_processor
    def language():
        # lab_zone: pages name it where a person types a day (filters) rather than a time
        return {"current_language": select_locale() if request else LANGUAGES[0],
                "lab_zone": select_timezone() if request else "UTC"}
