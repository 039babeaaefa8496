"""Page helpers shared by the server-rendered blueprints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError
from werkzeug.wrappers import Response

from ballistics.core.errors import AppError, Unprocessable
from ballistics.extensions import db

#: form fields that are plumbing, not service arguments
_NOT_ARGS = {"csrf_token", "submit"}


def form_args(form: FlaskForm) -> dict[str, Any]:
    """The form's data as keyword arguments for a service call."""
    return {name: value for name, value in form.data.items() if name not in _NOT_ARGS}


def form_errors(form: FlaskForm) -> str:
    parts = [f"{form[name].label.text}: {' '.join(msgs)}" for name, msgs in form.errors.items()
             if name in form]
    return "Please correct the form. " + "; ".join(parts)


def schema_args(form: FlaskForm, schema: type[Schema], data: dict[str, Any]) -> dict[str, Any]:
    """Load a page form's data with the API's schema, so a page checks its input exactly as the
    API does (one set of rules). Blank fields take the schema's defaults; a refusal is an
    :class:`Unprocessable` naming the form's labels."""
    try:
        return schema().load({k: v for k, v in data.items() if v not in (None, "")})
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_body": exc.messages}
        parts = [f"{form[name].label.text if name in form else name}: "
                 f"{' '.join(map(str, msgs))}" for name, msgs in messages.items()]
        raise Unprocessable("Please correct the form. " + "; ".join(parts),
                            fields=messages) from exc


def submit_form(form: FlaskForm, call: Callable[[dict[str, Any]], Any], *, back: str,
                done: Callable[[Any], tuple[str, str]]) -> Response:
    """Validate a posted form, call a service with its data, flash the outcome and redirect.

    A refusal (invalid form or :class:`AppError`) rolls back before redirecting: the request's
    after_request hook commits every answer below 400, and a redirect is one, so without the
    rollback a half-done service call could be committed. ``done(result)`` gives the success
    message and the URL to go to; ``back`` is where a refusal is shown.
    """
    if not form.validate_on_submit():
        db.session.rollback()
        flash(form_errors(form), "error")
        return redirect(back, 303)
    try:
        result = call(form_args(form))
    except AppError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back, 303)
    message, target = done(result)
    flash(message, "success")
    return redirect(target, 303)
