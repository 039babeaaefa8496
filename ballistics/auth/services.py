"""Accounts: labs, users, password checks and API tokens."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from ballistics.auth import passwords
from ballistics.auth.models import UNUSABLE, ApiToken, Lab, User, UserRole
from ballistics.auth.roles import Role
from ballistics.core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db

# Spent on unknown usernames too, so response time does not reveal which accounts exist.
_DUMMY = User(password_hash="")
_DUMMY.set_password(secrets.token_hex(8))

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
LAB_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
TOKEN_DAYS = 90


def normal_username(username: str) -> str:
    """Usernames are compared in lower case, so ``JSmith`` and ``jsmith`` are one login."""
    return username.strip().lower()


def create_lab(code: str, name: str, country: str = "") -> Lab:
    code = code.strip().upper()
    if not LAB_CODE.match(code):
        raise Unprocessable(_("Lab code %(code)s is not valid.", code=repr(code)), fields={"code": [
            _("Use 1-16 letters, digits or hyphens, e.g. NFL or JM-FL.")]})
    if not name.strip():
        raise Unprocessable(_("The lab needs a name."), fields={"name": [_("Required.")]})
    if db.session.scalar(select(Lab).where(Lab.code == code)) is not None:
        raise Conflict(_("Lab code %(code)s is already in use.", code=code),
                       fields={"code": [_("Already in use.")]})
    lab = Lab(code=code, name=name.strip(), country=country)
    db.session.add(lab)
    db.session.flush()
    return lab


def password_context(lab: Lab, username: str, full_name: str) -> list[str]:
    """Words a password must not be built from: the account's own name and lab."""
    return [username, *full_name.split(), lab.code, *lab.name.split()]


def create_user(lab: Lab, username: str, full_name: str, password: str | None,
                roles: Iterable[Role | str]) -> User:
    """Add a user. Without ``password`` the account cannot log in until its set-password link
    (:func:`ballistics.auth.accounts.issue_reset`) is used.

    Usernames are unique across the installation, not per lab: a node serves one national lab
    (several sites at most), so nobody has to type a lab at login, and a person keeps one login
    when they move between sites. The refusal says so plainly.
    """
    username = normal_username(username)
    if not USERNAME.match(username):
        raise Unprocessable(_("Username %(username)s is not valid.", username=repr(username)),
                            fields={"username": [
            _("Use 2-80 lower-case letters, digits, dots, hyphens or underscores.")]})
    if not full_name.strip():
        raise Unprocessable(_("The user needs a full name."),
                            fields={"full_name": [_("Required.")]})
    roles = sorted({Role(r) for r in roles})
    if not roles:
        raise Unprocessable(_("Give the user at least one role."),
                            fields={"roles": [_("Choose at least one role.")]})
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_("Username %(username)s is already taken in this installation (usernames "
                         "are unique across all labs). Choose another, e.g. with your lab's code "
                         "as a suffix: %(username)s.%(value)s.", username=username,
                         value=lab.code.lower()),
                       fields={"username": [_("Already taken in this installation.")]})
    user = User(lab_id=lab.id, username=username, full_name=full_name.strip(),
                role_rows=[UserRole(role=r) for r in roles], password_hash=UNUSABLE)
    if password is not None:
        passwords.check(password, context=password_context(lab, username, full_name))
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == normal_username(username)))
    if user is None:
        _DUMMY.check_password(password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def issue_token(user: User, name: str = "", days: int = TOKEN_DAYS) -> str:
    """Create a bearer token; the clear token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.digest(token), name=name,
                            expires_at=utcnow() + timedelta(days=days)))
    db.session.flush()
    return token


#: The user and their roles come with the token: one statement on every API request (the
#: roles' own selectin load was a second round trip before anything else could run). The token
#: itself is checked in the statement (known, not revoked, not expired) and never loaded: only
#: its user is needed. Built once: building it and its cache key cost about as much as running
#: it.
_USER_FOR_TOKEN = (select(User)
                   .join(ApiToken, ApiToken.user_id == User.id)
                   .options(joinedload(User.role_rows))
                   .where(ApiToken.token_hash == bindparam("token_hash"),
                          ApiToken.revoked_at.is_(None),
                          or_(ApiToken.expires_at.is_(None),
                              ApiToken.expires_at >= bindparam("now"))))


def user_for_token(token: str) -> User:
    user = db.session.scalars(_USER_FOR_TOKEN, {"token_hash": ApiToken.digest(token),
                                                "now": utcnow()}).unique().one_or_none()
    if user is None or not user.is_active:
        raise Unauthorized(_("The bearer token is unknown, expired or revoked."))
    return user


def active_tokens(users: Iterable[int]) -> list[ApiToken]:
    """Tokens of these users that still work (not revoked, not expired), newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id.in_(list(users)), ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > utcnow())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def token_in_lab(token_id: int, lab_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user.lab_id != lab_id:
        raise NotFound(_("No API token %(token_id)s in your lab.", token_id=token_id))
    return token


def revoke(tokens: Iterable[ApiToken]) -> int:
    """Revoke the tokens not yet revoked; how many were."""
    now, count = utcnow(), 0
    for token in tokens:
        if token.revoked_at is None:
            token.revoked_at = now
            count += 1
    db.session.flush()
    return count
