from __future__ import annotations

from marshmallow import validate

from ballistics.core import fields
from ballistics.core.schema import BaseSchema


class TokenRequestSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    name = fields.String(load_default="api", validate=validate.Length(max=120))


class TokenSchema(BaseSchema):
    token = fields.String()
    token_type = fields.String()
    expires_in_days = fields.Integer()


class UserSchema(BaseSchema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    lab_id = fields.Integer()
    roles = fields.Function(lambda u: sorted(r.value for r in u.roles))
