"""API tokens, the caller's own account, and the lab's accounts (managers and admins)."""

from __future__ import annotations

from flask import g, url_for
from flask_babel import gettext as _

from ballistics.auth import accounts, services
from ballistics.auth import schemas as s
from ballistics.auth.access import lab_select, require_role
from ballistics.auth.models import User
from ballistics.auth.permissions import MANAGE_ACCOUNTS
from ballistics.core.api import ApiBlueprint
from ballistics.core.errors import Unauthorized
from ballistics.core.ratelimit import login_limits
from ballistics.extensions import db

bp = ApiBlueprint("auth_api", __name__, url_prefix="/api/v1")
TAGS = ["auth"]
MANAGED = (403, 404, 409, 422)


@bp.operation("/tokens", "POST", summary="Exchange a username and password for a bearer token",
              tags=TAGS, body=s.TokenRequestSchema, response=s.TokenSchema, status=201,
              public=True, errors=(401, 403, 422, 429))
@login_limits
def token_create(data: dict):
    user = services.authenticate(data["username"], data["password"])
    if user is None:
        raise Unauthorized(_("Unknown username or wrong password."))
    accounts.require_no_forced_change(user)
    g.api_user = user  # the audit entry for the new token names its owner
    return {"token": services.issue_token(user, data["name"]), "token_type": "Bearer",
            "expires_in_days": services.TOKEN_DAYS}


@bp.operation("/tokens", summary="The caller's API tokens that still work", tags=TAGS,
              response=s.TokenInfoSchema, many=True)
def token_list():
    return services.active_tokens([g.api_user.id])


@bp.operation("/tokens/<int:token_id>/revoke", "POST",
              summary="Revoke an API token (one's own; a manager: one of the lab's)",
              tags=TAGS, response=s.TokenInfoSchema, errors=(403, 404))
def token_revoke(token_id: int):
    token = services.token_in_lab(token_id, g.api_user.lab_id)
    if token.user_id != g.api_user.id:
        accounts.managed_user(g.api_user, token.user_id)
    services.revoke([token])
    return token


@bp.operation("/me", summary="The caller's account", tags=TAGS, response=s.UserSchema)
def me():
    return g.api_user


@bp.operation("/me/password", "POST", summary="Change one's own password (ends web sessions)",
              tags=TAGS, body=s.PasswordChangeSchema, response=s.UserSchema, errors=(422,),
              idempotent=False)  # the body holds passwords
def password_change(data: dict):
    return accounts.change_password(g.api_user, data["current_password"], data["new_password"])


@bp.operation("/users", summary="Colleagues in the caller's lab", tags=TAGS,
              response=s.UserSchema, many=True)
def user_list():
    return db.session.execute(lab_select(User, g.api_user).order_by(User.full_name)).scalars()


def reset_link(user: User, token: str, expires_at) -> dict:
    return {"user_id": user.id, "expires_at": expires_at,
            "url": url_for("auth.reset_page", token=token, _external=True)}


@bp.operation("/users", "POST", summary="Add a user (answers a one-time set-password link)",
              tags=TAGS, body=s.UserCreateSchema, response=s.NewUserSchema, status=201,
              errors=MANAGED, idempotent=False)  # the answer holds a set-password link
def user_create(data: dict):
    user, token, expires_at = accounts.add_user(g.api_user, **data)
    return {"user": user, "link": reset_link(user, token, expires_at)}


@bp.operation("/users/<int:user_id>/roles", "POST", summary="Set a user's roles", tags=TAGS,
              body=s.RolesSchema, response=s.UserSchema, errors=MANAGED)
def user_roles(user_id: int, data: dict):
    return accounts.set_roles(g.api_user, accounts.managed_user(g.api_user, user_id),
                              data["roles"])


@bp.operation("/users/<int:user_id>/deactivate", "POST",
              summary="Deactivate an account (its sessions end, its tokens are revoked)",
              tags=TAGS, response=s.UserSchema, errors=MANAGED)
def user_deactivate(user_id: int):
    return accounts.deactivate(g.api_user, accounts.managed_user(g.api_user, user_id))


@bp.operation("/users/<int:user_id>/reactivate", "POST", summary="Reactivate an account",
              tags=TAGS, response=s.UserSchema, errors=MANAGED)
def user_reactivate(user_id: int):
    return accounts.reactivate(g.api_user, accounts.managed_user(g.api_user, user_id))


@bp.operation("/users/<int:user_id>/password-link", "POST",
              summary="Issue a one-time set-password link for a user (hand it over)",
              tags=TAGS, response=s.ResetLinkSchema, status=201, errors=MANAGED,
              idempotent=False)  # the answer is a set-password link
def user_password_link(user_id: int):
    user = accounts.managed_user(g.api_user, user_id)
    return reset_link(user, *accounts.issue_reset(g.api_user, user))


@bp.operation("/users/<int:user_id>/force-password-change", "POST",
              summary="Make a user choose a new password at the next login", tags=TAGS,
              response=s.UserSchema, errors=MANAGED)
def user_force_change(user_id: int):
    return accounts.force_password_change(g.api_user,
                                          accounts.managed_user(g.api_user, user_id))


@bp.operation("/users/<int:user_id>/tokens", summary="A user's API tokens that still work",
              tags=TAGS, response=s.TokenInfoSchema, many=True, errors=MANAGED)
def user_tokens(user_id: int):
    require_role(g.api_user, MANAGE_ACCOUNTS, "see other users' tokens")
    return services.active_tokens([accounts.managed_user(g.api_user, user_id).id])


@bp.operation("/users/<int:user_id>/tokens/revoke", "POST",
              summary="Revoke every API token of a user", tags=TAGS,
              response=s.RevokedSchema, errors=MANAGED)
def user_tokens_revoke(user_id: int):
    user = accounts.managed_user(g.api_user, user_id)
    return {"revoked": accounts.revoke_tokens(g.api_user, user)}

