"""Page forms of the login and account pages. They only collect input: the API's schemas load
it and the services in ``accounts.py`` hold every rule (:mod:`ballistics.core.forms`)."""

from __future__ import annotations

import pytz
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ballistics.auth import schemas as s
from ballistics.auth.roles import Role
from ballistics.core.confirm import confirm_field
from ballistics.core.forms import PageForm
from ballistics.core.labels import LABELS

ROLE_CHOICES = [SelectChoice(r.value, LABELS[r.value]) for r in Role]


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordChangeForm(PageForm):
    schema = s.PasswordChangeSchema
    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password (at least 12 characters)"))


class PasswordSetForm(PageForm):
    schema = s.PasswordSetSchema
    new_password = PasswordField(_l("New password (at least 12 characters)"))


class TokenCreateForm(PageForm):
    schema = s.TokenCreateSchema
    name = StringField(_l("What the token is for"), default="api")
    password = PasswordField(_l("Your password"))


class RolesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserCreateForm(PageForm):
    schema = s.UserCreateSchema
    username = StringField(_l("Username"))
    full_name = StringField(_l("Full name"))
    roles = RolesField(_l("Roles"), choices=ROLE_CHOICES, validate_choice=False)


class LabSettingsForm(PageForm):
    schema = s.LabSettingsSchema
    time_zone = SelectField(_l("Time zone"), validate_choice=False,
                            choices=[SelectChoice(z, z) for z in pytz.common_timezones])


class RolesForm(PageForm):
    schema = s.RolesSchema
    roles = RolesField(_l("Roles"), choices=ROLE_CHOICES, validate_choice=False)


class ButtonForm(PageForm):
    """A button that posts: its CSRF token and nothing else."""


class RevokeForm(ButtonForm):
    """Revoking API tokens (one, or every token of a user): the button and the box naming
    them, since a revoked token never works again."""

    confirm = confirm_field()


class DeactivateForm(ButtonForm):
    """Deactivating an account: the box names the user and how many working API tokens it
    revokes (revoked tokens never work again, even after reactivation)."""

    confirm = confirm_field()
