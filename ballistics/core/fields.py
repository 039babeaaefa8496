"""The marshmallow fields every schema uses: marshmallow's, with strict numbers and booleans.

Strict, because a JSON client that sends ``"5"`` for an integer, ``0`` for a boolean or ``2.0``
for an id has a bug we should name, not guess around. Bounded, because every integer ends up
in a database column: one beyond the column's range must be refused naming the field (422),
not overflow inside the driver (500).

Query strings, multipart fields and page forms carry only text: they are loaded in *text mode*
(:func:`text_input`), where these fields first parse their own text (``"5"`` -> 5,
``"true"`` -> True) and then apply the very same rules. One set of rules, two transports.

Schemas import ``fields`` from here; :class:`ballistics.core.schema.BaseSchema` refuses
marshmallow's lenient number and boolean fields so a new schema cannot slip back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from marshmallow import fields as _m
from marshmallow import validate
from marshmallow.fields import (  # noqa: F401 - re-exported: schemas use fields.X from here
    AwareDateTime,
    Date,
    DateTime,
    Dict,
    Field,
    Function,
    List,
    Method,
    NaiveDateTime,
    Nested,
    Raw,
)

#: INTEGER columns (every id, count and sequence number) hold 4 bytes on PostgreSQL
DB_INT_MIN, DB_INT_MAX = -(2**31), 2**31 - 1

_TEXT_MODE: ContextVar[bool] = ContextVar("text_mode", default=False)
_INT_TEXT = re.compile(r"[+-]?\d{1,20}")
_FLOAT_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?")
_TRUE, _FALSE = {"true", "1", "on", "yes"}, {"false", "0", "off", "no"}
#: what no database text column can hold: NUL, and UTF-16 surrogates (not encodable as UTF-8)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@contextmanager
def text_input() -> Iterator[None]:
    """Load text transports (query string, multipart fields, page forms): numbers and booleans
    arrive as text and are parsed by their fields."""
    token = _TEXT_MODE.set(True)
    try:
        yield
    finally:
        _TEXT_MODE.reset(token)


def _text(value: object) -> str | None:
    """The stripped text of ``value`` in text mode, else None."""
    return value.strip() if isinstance(value, str) and _TEXT_MODE.get() else None


class String(_m.String):
    """Text a database can store: no NUL character, no lone UTF-16 surrogate (JSON can spell
    both; PostgreSQL refuses the first, UTF-8 cannot encode the second)."""

    default_error_messages = {"unstorable": "Contains a NUL character or a lone surrogate."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _UNSTORABLE.search(text):
            raise self.make_error("unstorable")
        return text


class Integer(_m.Integer):
    """An integer within the database's range: no text (except in text mode), no floats, no
    booleans."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)
        ranges = [v for v in self.validators if isinstance(v, validate.Range)]
        lows = [v.min for v in ranges if v.min is not None]
        highs = [v.max for v in ranges if v.max is not None]
        # Only the sides no declared Range bounds; the OpenAPI document shows the result.
        if not lows or not highs:
            self.validators.append(validate.Range(min=None if lows else DB_INT_MIN,
                                                  max=None if highs else DB_INT_MAX))

    def _deserialize(self, value, attr, data, **kwargs):
        text = _text(value)
        if text is not None:
            if not _INT_TEXT.fullmatch(text):
                raise self.make_error("invalid")
            value = int(text)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Float(_m.Float):
    """A finite number: no text (except in text mode), no booleans."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = _text(value)
        if text is not None:
            if not _FLOAT_TEXT.fullmatch(text):
                raise self.make_error("invalid")
            value = float(text)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(_m.Boolean):
    """true or false: not 0, 1 or "yes" (except in text mode, where true/false, 1/0, on/off
    and yes/no are the text forms)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        text = _text(value)
        if text is not None and text.lower() in _TRUE:
            return True
        if text is not None and text.lower() in _FALSE:
            return False
        raise self.make_error("invalid")


#: marshmallow's own fields that accept text, floats or booleans for numbers, or unstorable text
LENIENT = (_m.Integer, _m.Float, _m.Number, _m.Decimal, _m.Boolean, _m.String)
STRICT = (Integer, Float, Boolean, String)


def lenient_fields(field: _m.Field) -> Iterator[_m.Field]:
    """``field`` and its inner fields that are marshmallow's lenient types."""
    if isinstance(field, LENIENT) and not isinstance(field, STRICT):
        yield field
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None)):
        if isinstance(inner, _m.Field):
            yield from lenient_fields(inner)
