"""Permission checks and lab-scoped lookups. Every query for lab data goes through here, so a
record of another lab answers 404 (its existence is not disclosed), never its content."""

from __future__ import annotations

import functools
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select

from ballistics.auth.models import User
from ballistics.auth.roles import Role
from ballistics.core.actions import action_words, record_words
from ballistics.core.errors import Forbidden, NotFound
from ballistics.core.labels import label
from ballistics.extensions import db

M = TypeVar("M")


def require_role(user: User, roles: frozenset[Role] | set[Role], action: str) -> None:
    if not user.has_role(*roles):
        needed = ", ".join(label(r) for r in sorted(roles, key=lambda r: r.value))
        raise Forbidden(_("Your role does not allow you to %(action)s (needs: %(needed)s).",
                          action=action_words(action), needed=needed))


def lab_select(model: type[M], user: User) -> Select:
    """``SELECT model`` restricted to the user's lab."""
    return select(model).where(model.lab_id == user.lab_id)


@functools.cache
def _in_lab(model: type, for_update: bool) -> Select:
    """``SELECT model WHERE lab_id = :lab_id AND id = :ident``, built once per model: the
    lookup runs on most requests, and building a statement and its cache key costs about as
    much as a database round trip."""
    stmt = select(model).where(model.lab_id == bindparam("lab_id"),
                               model.id == bindparam("ident"))
    return stmt.with_for_update() if for_update else stmt


def get_in_lab(model: type[M], ident: int, user: User, *, what: str | None = None,
               for_update: bool = False) -> M:
    obj = db.session.execute(_in_lab(model, for_update),
                             {"lab_id": user.lab_id, "ident": ident}).scalar_one_or_none()
    if obj is None:
        raise NotFound(_("No %(value)s %(ident)s in your lab.",
                         value=record_words(what or model.__name__.lower()), ident=ident))
    return obj


def colleague(user_id: int, user: User, *, field: str) -> User:
    """An active user of the caller's lab, or a 422 naming the field."""
    from ballistics.core.errors import Unprocessable

    other = db.session.get(User, user_id)
    if other is None or other.lab_id != user.lab_id or not other.is_active:
        raise Unprocessable(_("User %(user_id)s is not an active member of your lab.",
                              user_id=user_id),
                            fields={field: [_("Unknown user in this lab.")]})
    return other


def lab_members(user: User, roles: frozenset[Role] | set[Role]) -> list[User]:
    """Active users of the caller's lab holding any of ``roles`` (for pick lists), by name."""
    users = db.session.execute(select(User).where(User.lab_id == user.lab_id)
                               .order_by(User.full_name)).scalars()
    return [u for u in users if u.is_active and u.has_role(*roles)]
