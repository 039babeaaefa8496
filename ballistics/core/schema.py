"""The one marshmallow base: unknown fields are refused, and load errors name the field."""

from __future__ import annotations

from enum import StrEnum

from marshmallow import RAISE, Schema, fields, pre_load, validate

from ballistics.core.text import refuse_hidden_characters


class BaseSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    @pre_load
    def _no_hidden_characters(self, data, **_kwargs):
        # Control and bidi-override characters are refused in every text, naming the field.
        return refuse_hidden_characters(data)


def one_of(*members: StrEnum) -> validate.OneOf:
    """Accept exactly these enum values (as text, which is what the API speaks)."""
    return validate.OneOf([m.value for m in members])


class PageQuery(BaseSchema):
    q = fields.String(load_default=None, metadata={"description": "free-text search"})
    limit = fields.Integer(load_default=50, validate=lambda n: 1 <= n <= 500)
    offset = fields.Integer(load_default=0, validate=lambda n: n >= 0)


class UtcDateTime(fields.DateTime):
    """Dump naive UTC timestamps with an explicit offset, so clients never guess the zone."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)
