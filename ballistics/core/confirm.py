"""Confirming a destructive action on a page: a required check box whose label says what will
happen to what, enforced on the server.

A form that releases, destroys or withdraws something carries a ``confirm`` check box
(:func:`confirm_field`); its label is set per record (:func:`ask`) so the person reads the item
and the consequence before pressing the button. The view calls :func:`require` before the
service: a POST without the box ticked (a script, a form posted without the page's JavaScript,
a stale tab) is refused with the sentence beside the box and writes nothing.

The check box is page plumbing, not API input: :func:`ballistics.core.forms.form_input` leaves
it out of what the API's schema loads (an API client states its intent by calling the
operation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField

from ballistics.core.forms import FormRefused, summary

#: the name of the check box on every form that asks for confirmation
FIELD = "confirm"


def confirm_field() -> BooleanField:
    """The check box; its label is replaced by the sentence for the record (:func:`ask`)."""
    return BooleanField(_l("I confirm this action"), default=False)


def ask(form: FlaskForm, sentence: str) -> FlaskForm:
    """Put the sentence naming the record and the consequence on the form's check box."""
    form[FIELD].label.text = sentence
    form[FIELD].flags.required = True
    return form


def require(form: FlaskForm, render: Callable[[FlaskForm], Any]) -> None:
    """Refuse (422, nothing written) unless the check box was ticked in this POST."""
    if FIELD in form and form[FIELD].data is True:
        return
    message = _("Tick the box to confirm: %(sentence)s", sentence=form[FIELD].label.text)
    fields = {FIELD: [message]}
    raise FormRefused(summary(form, fields), form, render, fields)
