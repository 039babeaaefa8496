"""The schema's refusals said in the reader's language on pages.

The API keeps marshmallow's English messages (its clients read them as they are documented);
a page form shows the same refusal beside the field in the user's language. Marshmallow builds
its messages from a few templates, so each is recognised by pattern and said again through the
catalogue with the same values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

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
