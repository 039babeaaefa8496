"""The one convention for page forms.

A page form (:class:`PageForm`) only collects input: labels, widgets, choices and its CSRF
token. The rules are the API's: the posted values are loaded by the same marshmallow schema the
API uses, then handed to the same service. A refusal (the schema's or the service's) raises
:class:`FormRefused`; its handler rolls the request back like any other error, puts each message
beside its field, flashes the summary and re-renders the page with the posted values (422).
Success flashes and redirects (303).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError
from wtforms import BooleanField, FileField

from ballistics.core.errors import AppError
from ballistics.core.fields import text_input
from ballistics.core.validation_messages import localize_all

#: form fields that are plumbing, not input
PLUMBING = {"csrf_token", "submit"}
#: page-only input the API's schemas do not take (the confirmation check box of a destructive
#: action, :mod:`ballistics.core.confirm`); checked by the view, never passed to a service
PAGE_ONLY = {"confirm"}


class PageForm(FlaskForm):
    """A form that collects input for ``schema``; the schema marks which fields are required
    (the asterisk on the page), so there is one place that says so."""

    schema: ClassVar[type[Schema] | None] = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.schema is not None:
            for name, spec in self.schema().fields.items():
                if name in self and spec.required:
                    self[name].flags.required = True


class FormRefused(AppError):
    """A page form refused: carries the bound form and how to render its page again."""

    status, code = 422, "form_refused"

    def __init__(self, message: str, form: FlaskForm, render: Callable[[FlaskForm], Any],
                 fields: Mapping[str, Any] | None = None):
        super().__init__(message, fields=dict(fields or {}))
        self.form, self.render = form, render

    def page(self) -> ResponseReturnValue:
        """The page again, each message beside its field (called after the rollback)."""
        for name, messages in self.fields.items():
            if name in self.form and name not in PLUMBING:
                self.form[name].errors = _flat(messages)
        flash(self.message, "error")
        return self.render(self.form), self.status


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, Mapping):
        return [m for value in messages.values() for m in _flat(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in _flat(value)]
    return [str(messages)]


def form_input(form: FlaskForm) -> dict[str, Any]:
    """What was posted, as the API would receive it: text as typed (blank fields left out, so
    the schema's defaults apply), check boxes as booleans, files as uploaded. Keyed by the
    fields' own names: a form given a prefix (one per row of a list) posts ``<prefix>-name``."""
    data: dict[str, Any] = {}
    for field in form:
        name = field.short_name
        if name in PLUMBING or name in PAGE_ONLY:
            continue
        if isinstance(field, BooleanField | FileField):
            data[name] = field.data
        elif field.raw_data and str(field.raw_data[0]).strip() != "":
            data[name] = field.raw_data[0]
    return data


def summary(form: FlaskForm, messages: Mapping[str, Any]) -> str:
    """"Please correct the form. Label: message; ..." with the form's own labels."""
    parts = [f"{form[name].label.text if name in form else name}: {' '.join(_flat(msgs))}"
             for name, msgs in messages.items() if name not in PLUMBING]
    if not parts:
        return _("Please correct the form.")
    return _("Please correct the form. %(problems)s", problems="; ".join(parts))


def load(form: FlaskForm, schema: type[Schema], render: Callable[[FlaskForm], Any],
         data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load the posted input (or ``data``) with the API's schema; refuse naming the fields.

    A form posts text, so the schema loads it in text mode: its number and boolean fields
    parse the text first, then apply the API's rules."""
    try:
        with text_input():
            return schema().load(form_input(form) if data is None else data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_form": exc.messages}
        messages = localize_all(messages)  # beside the field, in the reader's language
        raise FormRefused(summary(form, messages), form, render, messages) from exc


def submit(form: FlaskForm, call: Callable[[dict[str, Any]], Any], *,
           render: Callable[[FlaskForm], Any], done: Callable[[Any], tuple[str, str]],
           schema: type[Schema] | None = None) -> ResponseReturnValue:
    """Handle a posted page form: load it with ``schema`` (the API's), call the service, then
    flash ``done(result)``'s message and redirect to its URL.

    Any refusal raises :class:`FormRefused`, so the request rolls back and ``render(form)``
    shows the page again with the messages beside the fields.
    """
    # The CSRF token was checked for every POST before the view ran (CSRFProtect); WTForms
    # validators are not used: the schema is the one set of rules.
    data = load(form, schema, render) if schema is not None else form_input(form)
    try:
        result = call(data)
    except FormRefused:
        raise
    except AppError as exc:
        raise FormRefused(exc.message, form, render, exc.fields) from exc
    message, target = done(result)
    flash(message, "success")
    return redirect(target, 303)
