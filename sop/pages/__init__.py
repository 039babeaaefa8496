"""The quality pages beyond the dashboard, one module per page group (personnel, equipment,
SOPs, nonconformities, examinations). Each registers its routes on :data:`sop.views.bp` and stays
thin: check the role, look up within the lab, hand the form to the service, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from flask_login import current_user

from ballistics.auth.access import lab_members, require_role
from ballistics.auth.models import User
from ballistics.core.forms import PageForm, form_input, load, submit
from sop.permissions import ACKNOWLEDGE_SOPS, MANAGE_QUALITY


def manager(action: str) -> None:
    """The role check before the form is read, so a wrong role is a 403, not a form refusal."""
    require_role(current_user, MANAGE_QUALITY, action)


def reader(action: str) -> None:
    require_role(current_user, ACKNOWLEDGE_SOPS, action)


def post(form: PageForm, call: Callable[[dict[str, Any]], Any], *,
         render: Callable[[PageForm], Any], done: Callable[[Any], tuple[str, str]],
         extra: dict[str, Any] | None = None,
         typed: dict[str, Any] | None = None) -> ResponseReturnValue:
    """:func:`ballistics.core.forms.submit` with values the page itself supplies (the person
    or the instrument in the URL, the button pressed) added to what was typed, all loaded by
    the form's schema (the API's). ``typed``: the input gathered by the page itself, when the
    form's fields are not the API's one for one."""
    data = {**(form_input(form) if typed is None else typed), **(extra or {})}
    if form.schema is not None:
        data = load(form, form.schema, render, data=data)
    return submit(form, lambda _typed: call(data), render=render, done=done)


def members() -> list[User]:
    """Everyone in the manager's lab a quality record can be about."""
    return lab_members(current_user, ACKNOWLEDGE_SOPS)
