"""The one marshmallow base: unknown fields are refused, types are strict (see
:mod:`ballistics.core.fields`), and load errors name the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from enum import StrEnum
from typing import Any

from marshmallow import RAISE, Schema, pre_load, validate

from ballistics.core import fields
from ballistics.core.fields import lenient_fields
from ballistics.core.text import refuse_hidden_characters


class BaseSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj) -> None:
        # Catch a schema that imported marshmallow's lenient fields instead of ours.
        for lenient in lenient_fields(field_obj):
            raise TypeError(f"{type(self).__name__}.{field_name}: use ballistics.core.fields."
                            f"{type(lenient).__name__} (strict), not marshmallow's")

    @pre_load
    def _no_hidden_characters(self, data, **_kwargs):
        # Control and bidi-override characters are refused in every text, naming the field.
        return refuse_hidden_characters(data)

    @pre_load
    def _read_only_left_out(self, data, **_kwargs):
        # A field the answer carries but the server sets (readOnly in the document, e.g. who
        # last changed the settings) is left out of what is sent back, so the representation
        # a GET answered can be PUT again; any other unknown field is still refused.
        if isinstance(data, Mapping) and self.dump_fields.keys() - self.load_fields.keys():
            read_only = {name for name, f in self.fields.items() if f.dump_only}
            return {k: v for k, v in data.items() if k not in read_only}
        return data


def one_of(*members: StrEnum) -> validate.OneOf:
    """Accept exactly these enum values (as text, which is what the API speaks)."""
    return validate.OneOf([m.value for m in members])


def flat_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error messages as the documented flat ``{field: [text]}``: a
    nested field is named by its path (``steps.0.title``, ``ratings.microscopy.value``)."""
    if not isinstance(messages, Mapping):
        return {prefix or "_body": [str(m) for m in _leaves(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = str(key) if not prefix else f"{prefix}.{key}"
        if key == "_schema":
            name = prefix or "_schema"
        for field, texts in flat_messages(value, name).items():
            flat.setdefault(field, []).extend(texts)
    return flat


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]


class PageOnlyQuery(BaseSchema):
    """A page of a list that grows for ever (newest first): ``limit`` rows after ``offset``."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                           metadata={"description": "rows in the page (newest first)"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000),
                            metadata={"description": "rows to skip"})


class PageQuery(PageOnlyQuery):
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "free-text search"})


class UtcDateTime(fields.DateTime):
    """Dump naive UTC timestamps with an explicit offset, so clients never guess the zone."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)
