"""The schema's refusals said in the reader's language, on pages and in the API.

Marshmallow builds its messages from a few templates, so each is recognised by pattern and said
again through the catalogue with the same values (the limits, the choices). A page form shows
the refusal beside its field; the API answers it in ``fields`` (:func:`api_messages`), in the
caller's language: the account's, else ``Accept-Language``.

Every message the API's schemas can produce must be here (``tests/core/test_api_field_language``
walks them), or be said through the catalogue where it is raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import get_locale
from flask_babel import gettext as _

from ballistics.core.i18n import LANGUAGES

_PATTERNS: list[tuple[re.Pattern[str], Callable[..., str]]] = [
    (re.compile(r"Missing data for required field\."),
     lambda: _("Missing data for required field.")),
    (re.compile(r"Field may not be null\."), lambda: _("Field may not be null.")),
    (re.compile(r"Unknown field\."), lambda: _("Unknown field.")),
    (re.compile(r"Not a valid integer\."), lambda: _("Not a valid integer.")),
    (re.compile(r"Not a valid number\."), lambda: _("Not a valid number.")),
    (re.compile(r"Not a valid date\."), lambda: _("Not a valid date.")),
    (re.compile(r"Not a valid datetime\."), lambda: _("Not a valid date and time.")),
    (re.compile(r"Not a valid string\."), lambda: _("Not a valid string.")),
    (re.compile(r"Not a valid boolean\."), lambda: _("Not a valid boolean.")),
    (re.compile(r"Not a valid list\."), lambda: _("Not a valid list.")),
    (re.compile(r"Not a valid mapping type\."), lambda: _("Not a valid object.")),
    (re.compile(r"Not a valid aware datetime\."),
     lambda: _("Not a valid date and time with a time zone.")),
    (re.compile(r"Not a valid naive datetime\."),
     lambda: _("Not a valid date and time without a time zone.")),
    (re.compile(r"Not a valid utf-8 string\."), lambda: _("Not valid UTF-8 text.")),
    (re.compile(r"Number too large\."), lambda: _("Number too large.")),
    (re.compile(r"Special numeric values \(nan or infinity\) are not permitted\."),
     lambda: _("Must be a finite number (not NaN or infinity).")),
    # a schema given other than an object; Nested(many=True) given other than a list
    (re.compile(r"Invalid input type\."), lambda: _("Not a valid object.")),
    (re.compile(r"Invalid type\."), lambda: _("Not a valid list.")),
    (re.compile(r"Invalid value\."), lambda: _("Invalid value.")),
    (re.compile(r"String does not match expected pattern\."),
     lambda: _("Does not match the expected pattern.")),
    (re.compile(r"Length must be (?P<equal>\d+)\."),
     lambda equal: _("Length must be %(equal)s.", equal=equal)),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."),
     lambda max: _("Longer than maximum length %(max)s.", max=max)),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\."),
     lambda min: _("Shorter than minimum length %(min)s.", min=min)),
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."),
     lambda min, max: _("Length must be between %(min)s and %(max)s.", min=min, max=max)),
    (re.compile(r"Must be one of: (?P<choices>.*)\."),
     lambda choices: _("Must be one of: %(choices)s.", choices=choices)),
    # the app's own validators (ballistics.core.text, ballistics.evidence.schemas, sop.schemas)
    (re.compile(r"Must not be blank\."), lambda: _("Must not be blank.")),
    (re.compile(r"Contains a NUL character or a lone surrogate\."),
     lambda: _("Contains a NUL character or a lone surrogate; remove it.")),
    (re.compile(r"Choose between (?P<min>\d+) and (?P<max>\d+) roles\."),
     lambda min, max: _("Choose between %(min)s and %(max)s roles.", min=min, max=max)),
    (re.compile(r"Contains the invisible control (?P<name>[A-Z0-9 -]+) \((?P<code>U\+[0-9A-F]+)\); "
                r"remove it\."),
     lambda name, code: _("Contains the invisible control %(name)s (%(code)s); remove it.",
                          name=name, code=code)),
    (re.compile(r"Contains a control character \((?P<code>U\+[0-9A-F]+)\); remove it\."),
     lambda code: _("Contains a control character (%(code)s); remove it.", code=code)),
    (re.compile(r"Contains an unpaired surrogate \((?P<code>U\+[0-9A-F]+)\); remove it\."),
     lambda code: _("Contains an unpaired surrogate (%(code)s); remove it.", code=code)),
    (re.compile(r"Must not be in the future\."), lambda: _("Must not be in the future.")),
    (re.compile(r"Name the value the step must record\."),
     lambda: _("Name the value the step must record.")),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+) and less than or equal to "
                r"(?P<max>\S+)\."),
     lambda min, max: _("Must be between %(min)s and %(max)s.", min=min, max=max)),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\."),
     lambda min: _("Must be at least %(min)s.", min=min)),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\."),
     lambda max: _("Must be at most %(max)s.", max=max)),
]


def localized(message: str) -> str:
    """``message`` in the reader's language when it is one of marshmallow's; else unchanged."""
    for pattern, say in _PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return say(**found.groupdict())
    return message


def localize_all(messages: object) -> object:
    """The same nesting of messages (dicts, lists), each message said in the reader's language."""
    if isinstance(messages, dict):
        return {key: localize_all(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [localize_all(value) for value in messages]
    return localized(messages) if isinstance(messages, str) else messages


def api_messages(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """The API's ``fields`` (flat, :func:`ballistics.core.schema.flat_messages`) in the caller's
    language. English callers get the messages as marshmallow and the code word them, which the
    API has always answered (a script may match on them); the pages' rewording of a few (e.g.
    "Must be between 1 and 500.") is for Spanish and for pages only."""
    if str(get_locale() or LANGUAGES[0]) == LANGUAGES[0]:
        return fields
    return {name: [localized(message) for message in messages]
            for name, messages in fields.items()}
