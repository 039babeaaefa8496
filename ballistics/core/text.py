"""What free text may carry, checked once for every schema (:class:`ballistics.core.schema.
BaseSchema` runs :func:`refuse_hidden_characters` before loading).

Refused anywhere in text input:

- control characters other than tab, line feed and carriage return (C0, DEL and C1): they are
  invisible on a page, break CSV and court reports, and PostgreSQL refuses NUL outright;
- the bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069):
  they make a record read differently from what it stores ("Trojan Source", CVE-2021-42574),
  e.g. a serial number or a seal number shown reversed. The plain marks LRM/RLM stay allowed,
  as right-to-left names need them;
- unpaired surrogates (``"\\ud800"`` is valid JSON but not encodable text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError

HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                    "\ud800-\udfff]")


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"an unpaired surrogate ({code})"
    name = unicodedata.name(char, "")
    if name:  # the bidi controls have names
        return f"the invisible control {name} ({code})"
    return f"a control character ({code})"


def hidden_character(text: str) -> str | None:
    """Why ``text`` is refused, or None when it carries nothing hidden."""
    match = HIDDEN.search(text)
    if match is None:
        return None
    return f"Contains {_describe(match.group())}; remove it."


def _scan(value: Any) -> Any:
    """Messages shaped as marshmallow's (field -> [messages], list index -> ...), or None."""
    if isinstance(value, str):
        why = hidden_character(value)
        return [why] if why else None
    if isinstance(value, Mapping):
        found = {key: msg for key, item in value.items() if (msg := _scan(item)) is not None}
        return found or None
    if isinstance(value, list | tuple):
        found = {i: msg for i, item in enumerate(value) if (msg := _scan(item)) is not None}
        return found or None
    return None


def refuse_hidden_characters(data: Any) -> Any:
    """Raise a ValidationError naming every field whose text carries a hidden character."""
    if isinstance(data, Mapping):
        found = _scan(data)
        if found:
            raise ValidationError(found)
    return data


def not_blank(value: str) -> None:
    """A required text must say something: only spaces is as good as nothing."""
    if not value.strip():
        raise ValidationError("Must not be blank.")
