"""API tokens and the caller's own account."""

from __future__ import annotations

from flask import current_app, g

from ballistics.auth import services
from ballistics.auth.access import lab_select
from ballistics.auth.models import User
from ballistics.auth.schemas import TokenRequestSchema, TokenSchema, UserSchema
from ballistics.core.api import ApiBlueprint
from ballistics.core.errors import Unauthorized
from ballistics.extensions import db, limiter

bp = ApiBlueprint("auth_api", __name__, url_prefix="/api/v1")


@bp.operation("/tokens", "POST", summary="Exchange a username and password for a bearer token",
              tags=["auth"], body=TokenRequestSchema, response=TokenSchema, status=201,
              public=True, errors=(401, 422, 429))
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def token_create(data: dict):
    user = services.authenticate(data["username"], data["password"])
    if user is None:
        raise Unauthorized("Unknown username or wrong password.")
    g.api_user = user  # the audit entry for the new token names its owner
    return {"token": services.issue_token(user, data["name"]), "token_type": "Bearer",
            "expires_in_days": 90}


@bp.operation("/me", summary="The caller's account", tags=["auth"], response=UserSchema)
def me():
    return g.api_user


@bp.operation("/users", summary="Colleagues in the caller's lab", tags=["auth"],
              response=UserSchema, many=True)
def user_list():
    return db.session.execute(lab_select(User, g.api_user).order_by(User.full_name)).scalars()
