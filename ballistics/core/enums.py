"""Statuses and kinds as Python enums that the database checks.

Every status or kind column is declared with :func:`db_enum`: the value is stored as text (the
same on SQLite and PostgreSQL, readable in a dump) and a CHECK constraint refuses any value the
enum does not define, whoever writes it.
"""

from __future__ import annotations

import re
from enum import StrEnum

from sqlalchemy import Enum


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def db_enum(enum_cls: type[StrEnum], *, length: int = 20, name: str | None = None) -> Enum:
    """A text column restricted to ``enum_cls``'s values by a named CHECK constraint
    (``ck_<table>_<name>``; ``name`` defaults to the enum's name in snake case)."""
    longest = max(len(m.value) for m in enum_cls)
    if longest > length:
        raise ValueError(f"{enum_cls.__name__} has a value of {longest} characters (> {length})")
    return Enum(enum_cls, native_enum=False, create_constraint=True, validate_strings=True,
                values_callable=lambda e: [m.value for m in e], length=length,
                name=name or _snake(enum_cls.__name__))
