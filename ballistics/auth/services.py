"""Accounts: labs, users, password checks and API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ballistics.auth.models import ApiToken, Lab, User, UserRole
from ballistics.auth.roles import Role
from ballistics.core.errors import Conflict, Unauthorized
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db

# Spent on unknown usernames too, so response time does not reveal which accounts exist.
_DUMMY = User(password_hash="")
_DUMMY.set_password(secrets.token_hex(8))


def create_lab(code: str, name: str, country: str = "") -> Lab:
    if db.session.scalar(select(Lab).where(Lab.code == code)) is not None:
        raise Conflict(f"Lab code {code} is taken.", fields={"code": ["Already in use."]})
    lab = Lab(code=code, name=name, country=country)
    db.session.add(lab)
    db.session.flush()
    return lab


def create_user(lab: Lab, username: str, full_name: str, password: str,
                roles: list[Role] | tuple[Role, ...]) -> User:
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"Username {username} is taken.", fields={"username": ["Already in use."]})
    user = User(lab_id=lab.id, username=username, full_name=full_name,
                role_rows=[UserRole(role=Role(r)) for r in roles])
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _DUMMY.check_password(password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def issue_token(user: User, name: str = "", days: int = 90) -> str:
    """Create a bearer token; the clear token is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.digest(token), name=name,
                            expires_at=utcnow() + timedelta(days=days)))
    db.session.flush()
    return token


def user_for_token(token: str) -> User:
    # The user comes with the token (one query less on every API request).
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.token_hash == ApiToken.digest(token)))
    if (row is None or row.revoked_at is not None
            or (row.expires_at and row.expires_at < utcnow()) or not row.user.is_active):
        raise Unauthorized("The bearer token is unknown, expired or revoked.")
    return row.user
