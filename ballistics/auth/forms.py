"""Page forms of the login and account pages. They only collect input: the API's schemas load
it and the services in ``accounts.py`` hold every rule (:mod:`ballistics.core.forms`)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ballistics.auth import schemas as s
from ballistics.auth.roles import Role
from ballistics.core.forms import PageForm

ROLE_CHOICES = [SelectChoice(r.value, r.value.replace("_", " ")) for r in Role]


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class PasswordChangeForm(PageForm):
    schema = s.PasswordChangeSchema
    current_password = PasswordField("Current password")
    new_password = PasswordField("New password (at least 12 characters)")


class PasswordSetForm(PageForm):
    schema = s.PasswordSetSchema
    new_password = PasswordField("New password (at least 12 characters)")


class TokenCreateForm(PageForm):
    schema = s.TokenCreateSchema
    name = StringField("What the token is for", default="api")
    password = PasswordField("Your password")


class RolesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserCreateForm(PageForm):
    schema = s.UserCreateSchema
    username = StringField("Username")
    full_name = StringField("Full name")
    roles = RolesField("Roles", choices=ROLE_CHOICES, validate_choice=False)


class RolesForm(PageForm):
    schema = s.RolesSchema
    roles = RolesField("Roles", choices=ROLE_CHOICES, validate_choice=False)


class ButtonForm(PageForm):
    """A button that posts: its CSRF token and nothing else."""
