"""The account lifecycle: passwords, set-password links, deactivation, roles and tokens.

Rules, each refused with a reason and nothing written:
- a manager or admin manages accounts of their own lab only (another lab's answers 404), and
  only accounts whose every role they may grant (:mod:`ballistics.auth.permissions`);
- nobody deactivates themselves, and the last active admin of a lab keeps the role and the
  account, so a lab can always manage its accounts;
- every password goes through the policy (:mod:`ballistics.auth.passwords`).

Sessions end (``User.end_sessions``) on logout, password change, deactivation and a forced
change. Deactivation and a password set through a one-time link also revoke the account's API
tokens (a reset follows a lost or exposed password); reactivation brings none back. Every
write is audited by the audit log's listeners; password and token hashes are redacted there.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from ballistics.auth import passwords, services
from ballistics.auth.access import require_role
from ballistics.auth.models import ApiToken, Lab, PasswordReset, User, UserRole
from ballistics.auth.permissions import MANAGE_ACCOUNTS, grantable
from ballistics.auth.roles import Role
from ballistics.core.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class LinkGone(AppError):
    """A set-password link that expired, was used or was replaced by a newer one."""

    status, code = 410, "link_gone"


def _label(role: Role) -> str:
    return role.value.replace("_", " ")


# --- the caller's own account -------------------------------------------------------------

def change_password(user: User, current_password: str, new_password: str) -> User:
    """Change one's own password (the current one is required). Ends every other session:
    the caller's own session is renewed by the view."""
    if not user.check_password(current_password):
        raise Unprocessable("The current password is wrong; the password was not changed.",
                            fields={"current_password": ["Wrong password."]})
    if current_password == new_password:
        raise Unprocessable("The new password must differ from the current one.",
                            fields={"new_password": ["Same as the current password."]})
    set_password(user, new_password, field="new_password")
    return user


def set_password(user: User, password: str, *, field: str = "password") -> None:
    """Set a password under the policy; ends every session and any forced change."""
    passwords.check(password, field=field,
                    context=services.password_context(user.lab, user.username, user.full_name))
    user.set_password(password)
    user.must_change_password = False
    user.end_sessions()
    db.session.flush()


def set_language(user: User, lang: str) -> None:
    user.locale = lang


def create_token(user: User, name: str, password: str) -> str:
    """A new API token for oneself from a page (the password again: a borrowed session must
    not mint a credential that outlives it)."""
    if not user.check_password(password):
        raise Unprocessable("The password is wrong; no token was created.",
                            fields={"password": ["Wrong password."]})
    require_no_forced_change(user)
    return services.issue_token(user, name)


def require_no_forced_change(user: User) -> None:
    if user.must_change_password:
        raise Forbidden("Choose a new password first (log in on the web); a manager asked "
                        "for it.", code="password_change_required")


def own_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"No API token {token_id} of yours.")
    return token


# --- managing the lab's accounts ----------------------------------------------------------

def managed_user(actor: User, user_id: int) -> User:
    """A user of the actor's lab whom the actor may manage (else 404 or 403 with the reason)."""
    require_role(actor, MANAGE_ACCOUNTS, "manage accounts")
    user = db.session.get(User, user_id)
    if user is None or user.lab_id != actor.lab_id:
        raise NotFound(f"No user {user_id} in your lab.")
    beyond = user.roles - grantable(actor.roles)
    if beyond:
        names = ", ".join(sorted(_label(r) for r in beyond))
        raise Forbidden(f"{user.username} holds roles you may not grant ({names}); ask an "
                        "admin to manage this account.")
    return user


def _check_grant(actor: User | None, roles: Iterable[Role]) -> list[Role]:
    """``actor`` None: the operator at the command line, who may grant every role."""
    roles = sorted({Role(r) for r in roles})
    if not roles:
        raise Unprocessable("Give the user at least one role.",
                            fields={"roles": ["Choose at least one role."]})
    beyond = set(roles) - (grantable(actor.roles) if actor is not None else frozenset(Role))
    if beyond:
        names = ", ".join(sorted(_label(r) for r in beyond))
        raise Forbidden(f"You may not grant the role {names}.", fields={"roles": [
            f"Not yours to grant: {names}."]})
    return roles


def add_user(actor: User, username: str, full_name: str, roles: Iterable[Role]) -> tuple[
        User, str, datetime]:
    """A new account of the actor's lab with no password yet, and its one-time set-password
    link token (the manager hands the link over; no one else ever knows the password)."""
    require_role(actor, MANAGE_ACCOUNTS, "manage accounts")
    user = services.create_user(actor.lab, username, full_name, None, _check_grant(actor, roles))
    token, expires_at = issue_reset(actor, user)
    return user, token, expires_at


def set_roles(actor: User | None, user: User, roles: Iterable[Role]) -> User:
    roles = _check_grant(actor, roles)
    _lock_lab(user.lab_id)
    if Role.ADMIN not in roles:
        _keep_an_admin(user, "remove the admin role from")
    current = {r.role: r for r in user.role_rows}
    for role in set(current) - set(roles):
        user.role_rows.remove(current[role])
    for role in set(roles) - set(current):
        user.role_rows.append(UserRole(role=role))
    db.session.flush()
    return user


def deactivate(actor: User | None, user: User) -> User:
    if actor is not None and user.id == actor.id:
        raise Conflict("You cannot deactivate your own account; ask another manager or admin.")
    if not user.is_active_account:
        raise Conflict(f"{user.username} is already deactivated.")
    _lock_lab(user.lab_id)
    _keep_an_admin(user, "deactivate")
    user.is_active_account = False
    user.end_sessions()
    revoke_tokens(actor, user)
    db.session.flush()
    return user


def reactivate(actor: User | None, user: User) -> User:
    if user.is_active_account:
        raise Conflict(f"{user.username} is already active.")
    user.is_active_account = True
    db.session.flush()
    return user


def force_password_change(actor: User | None, user: User) -> User:
    """The user must choose a new password at their next login; their sessions end now."""
    user.must_change_password = True
    user.end_sessions()
    db.session.flush()
    return user


def revoke_tokens(actor: User | None, user: User) -> int:
    return services.revoke(services.active_tokens([user.id]))


def _lock_lab(lab_id: int) -> None:
    # One account change per lab at a time (PostgreSQL), so two admins demoting each other at
    # once cannot both pass the last-admin check.
    db.session.execute(select(Lab.id).where(Lab.id == lab_id).with_for_update())


def _keep_an_admin(user: User, verb: str) -> None:
    if Role.ADMIN not in user.roles or not user.is_active_account:
        return
    others = db.session.scalar(
        select(func.count(User.id)).join(UserRole, UserRole.user_id == User.id)
        .where(User.lab_id == user.lab_id, User.id != user.id, User.is_active_account,
               UserRole.role == Role.ADMIN))
    if not others:
        raise Conflict(f"You cannot {verb} {user.username}: the lab's last active admin. Make "
                       "another user admin first.")


# --- one-time set-password links ----------------------------------------------------------

def issue_reset(actor: User | None, user: User) -> tuple[str, datetime]:
    """A one-time link token for ``user`` (returned once; only its hash is stored). Older
    open links of the user stop working."""
    now = utcnow()
    for old in db.session.scalars(select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now)):
        old.expires_at = now
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=current_app.config["PASSWORD_RESET_HOURS"])
    db.session.add(PasswordReset(lab_id=user.lab_id, user_id=user.id,
                                 token_hash=ApiToken.digest(token),
                                 created_by_id=actor.id if actor else None,
                                 created_at=now, expires_at=expires_at))
    db.session.flush()
    return token, expires_at


def open_reset(token: str) -> PasswordReset:
    """The link behind ``token`` if it still works, else 410 naming why."""
    reset = db.session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == ApiToken.digest(token)))
    if reset is None:
        raise NotFound("This password link is not known. Ask your lab manager for a new one.")
    if reset.used_at is not None:
        raise LinkGone("This password link was already used. Ask your lab manager for a new "
                       "one.")
    if reset.expires_at <= utcnow():
        raise LinkGone("This password link has expired (or a newer one was issued). Ask your "
                       "lab manager for a new one.")
    if not reset.user.is_active:
        raise LinkGone("This account is deactivated.")
    return reset


def complete_reset(token: str, new_password: str) -> User:
    """Set the password through a one-time link: the link is spent, every session ends and
    every API token is revoked."""
    reset = open_reset(token)
    user = reset.user
    set_password(user, new_password, field="new_password")
    reset.used_at = utcnow()
    revoke_tokens(None, user)
    db.session.flush()
    return user
