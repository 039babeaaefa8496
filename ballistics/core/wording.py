"""Sentences written now and read later, in the reader's language.

A compliance finding is judged by a worker and read by a manager, in English or Spanish; the
reason a likelihood ratio was withheld is stored with the candidate and read by examiners of
either language. What such a record keeps is its sentence in English (for the API's machines,
exports and anyone reading the database) and its *wording*: the message as the catalogues know
it, with its values, so a page can say it again in the reader's language::

    {"msg": "%(who)s held no authorisation for %(sop)s on %(day)s.",
     "args": {"who": "Ana Ruiz", "sop": "FA-04", "day": {"date": "2026-03-02"}}}

A value is one of:

- a plain string or number;
- a day (``{"date": ISO}``): ISO in English, the reader's date format on pages;
- a moment (``{"moment": ISO}``, a stored naive UTC time): "2026-03-02 14:05 UTC" in English,
  on pages in the lab's time zone, named;
- a measured figure (``{"figure": 0.844, "spec": ".3g"}``): Python's format in English, the
  reader's decimal sign on pages;
- a stored code shown through its label (``{"label": code}``);
- another wording: a clause of the sentence, translated as a message of its own;
- a counted clause (``counted(n, "%(num)s day", "%(num)s days")``): singular or plural as
  the reader's language counts ``n``.

Wordings are plain JSON: they go into a JSON column as they are.

``wording(...)`` and ``counted(...)`` are keywords of the message extraction (``pybabel
extract -k wording -k counted:2,3``), so their messages are in the catalogues like any ``_()``
or ``ngettext()``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import format_date, gettext, ngettext

from ballistics.core.i18n import local_datetime
from ballistics.core.labels import label
from ballistics.core.numbers import number, significant

Wording = dict[str, Any]


def wording(msg: str, **args: Any) -> Wording:
    """The message ``msg`` (``%(name)s`` placeholders) with its values; days become
    ``{"date": ISO}``, wordings and ``coded()`` values stay as they are."""
    return {"msg": msg, "args": {k: _value(v) for k, v in args.items()}}


def counted(n: int, singular: str, plural: str) -> Wording:
    """A clause that counts: ``singular`` or ``plural`` (each with ``%(num)s``) as the
    reader's language says ``n`` ("1 day", "2 days"; "1 día", "2 días")."""
    return {"msg": singular, "plural": plural, "n": n, "args": {"num": n}}


def coded(code: str) -> dict:
    """A stored code (an enum's value) that pages show through its label."""
    return {"label": str(code)}


def figure(value: float, spec: str = "g") -> dict:
    """A measured figure, written in English with the format ``spec`` (``g``, ``.3g``: at most
    that many significant digits; ``.0f``, ``.2f``: that many decimals) and on pages the same
    way in the reader's locale."""
    if not (spec == "g" or (spec[:1] == "." and spec[1:-1].isdigit() and spec[-1:] in "gf")):
        raise ValueError(f"no locale form for the format {spec!r}")
    return {"figure": float(value), "spec": spec}


def english(w: Wording) -> str:
    """The sentence in the source language, days in ISO form: what is stored and what the API
    and exports give."""
    msg = w["msg"] if "plural" not in w or w["n"] == 1 else w["plural"]
    return msg % {k: _english(v) for k, v in w["args"].items()}


def said(w: Wording) -> str:
    """The sentence in the reader's language and date format (needs Flask-Babel's context)."""
    args = {k: _said(v) for k, v in w["args"].items()}
    if "plural" in w:  # ngettext puts the count in as num itself
        return ngettext(w["msg"], w["plural"], w["n"], **{k: v for k, v in args.items()
                                                          if k != "num"})
    return gettext(w["msg"], **args)


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"moment": v.isoformat()}
    if isinstance(v, date):
        return {"date": v.isoformat()}
    if v is None or isinstance(v, (str, int, float, dict)):
        return v
    return str(v)


def _english(v: Any) -> Any:
    if isinstance(v, dict):
        if "msg" in v:
            return english(v)
        if "date" in v:
            return v["date"]
        if "figure" in v:
            return format(v["figure"], v["spec"])
        if "moment" in v:
            return f"{datetime.fromisoformat(v['moment']):%Y-%m-%d %H:%M} UTC"
        return v["label"].replace("_", " ")  # the English label is the code with spaces
    return "—" if v is None else v


def _said(v: Any) -> Any:
    if isinstance(v, dict):
        if "msg" in v:
            return said(v)
        if "date" in v:
            return format_date(date.fromisoformat(v["date"]))
        if "figure" in v:
            return _figure(v["figure"], v["spec"])
        if "moment" in v:
            return local_datetime(datetime.fromisoformat(v["moment"]), "short")
        return label(v["label"])
    return "—" if v is None else v


def _figure(value: float, spec: str) -> str:
    digits = spec[1:-1]
    if spec.endswith("f"):
        return number(value, int(digits))
    return significant(value, int(digits) if digits else 6)  # Python's "g" is 6 digits
