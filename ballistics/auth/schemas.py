from __future__ import annotations

from marshmallow import validate

from ballistics.auth.passwords import MAX_LENGTH
from ballistics.auth.roles import Role
from ballistics.core import fields
from ballistics.core.schema import BaseSchema, UtcDateTime, one_of

_PASSWORD = validate.Length(max=MAX_LENGTH)


class TokenRequestSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=_PASSWORD)
    name = fields.String(load_default="api", validate=validate.Length(max=120))


class TokenSchema(BaseSchema):
    token = fields.String()
    token_type = fields.String()
    expires_in_days = fields.Integer()


class TokenInfoSchema(BaseSchema):
    """A token as listed: never the token itself (only its hash is stored)."""

    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    created_at = UtcDateTime()
    expires_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class TokenCreateSchema(BaseSchema):
    """A token made on the "My account" page (the password again)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True, validate=_PASSWORD)


class UserSchema(BaseSchema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    lab_id = fields.Integer()
    roles = fields.Function(lambda u: sorted(r.value for r in u.roles))
    is_active = fields.Boolean()
    must_change_password = fields.Boolean()


class PasswordChangeSchema(BaseSchema):
    current_password = fields.String(required=True, load_only=True, validate=_PASSWORD)
    new_password = fields.String(required=True, load_only=True, validate=_PASSWORD)


class PasswordSetSchema(BaseSchema):
    """The set-password link's form."""

    new_password = fields.String(required=True, load_only=True, validate=_PASSWORD)


def _roles() -> fields.List:
    return fields.List(fields.String(validate=one_of(*Role)), required=True,
                       validate=validate.Length(min=1, max=len(Role),
                                                error="Choose between {min} and {max} roles."))


class UserCreateSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=2, max=80))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = _roles()


class LabSettingsSchema(BaseSchema):
    """A lab's own settings; the zone name is checked against the tz database by the service."""

    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RolesSchema(BaseSchema):
    roles = _roles()


class ResetLinkSchema(BaseSchema):
    """A one-time set-password link: shown once, to be handed to the user."""

    user_id = fields.Integer()
    url = fields.String()
    expires_at = UtcDateTime()


class NewUserSchema(BaseSchema):
    user = fields.Nested(UserSchema)
    link = fields.Nested(ResetLinkSchema)


class RevokedSchema(BaseSchema):
    revoked = fields.Integer(metadata={"description": "how many tokens were revoked"})
