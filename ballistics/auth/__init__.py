"""Labs, users, roles, API tokens, login and permission checks."""

from flask import Flask, g, redirect, request, url_for
from flask_login import current_user

#: pages a user who must choose a new password may still open
_WHILE_FORCED = {"auth.password_page", "auth.password_change", "auth.logout", "static"}


def init_app(app: Flask) -> None:
    from flask_babel import get_locale, gettext

    from ballistics.auth.models import User
    from ballistics.auth.services import user_for_token
    from ballistics.core.domains import install
    from ballistics.core.errors import Unauthorized
    from ballistics.extensions import db, login_manager

    install(app, __name__)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(login_id: str) -> User | None:
        # "<user id>:<session version>" (User.get_id): a cookie issued before the last logout,
        # password change or deactivation names an old version and is refused.
        user_id, _, version = login_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user

    @app.before_request
    def bearer_auth() -> None:
        g.api_user = None
        if not request.path.startswith("/api/"):
            return
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "bearer":  # the scheme is case-insensitive (RFC 9110 11.1)
            g.bad_token = True
            g.api_user = user_for_token(credentials.strip())
            g.bad_token = False
        elif header:
            raise Unauthorized(gettext("Use 'Authorization: Bearer <token>'."))

    @app.before_request
    def settle_language() -> None:
        """The language is the account's (the API token's or the signed-in reader's), read
        the first time a message is translated; a refusal raised by a failed flush (two
        hand-overs at once) could not load the account then (the transaction must be rolled
        back first) and answered 500. Settle it now, while the account is loaded."""
        if g.api_user is not None or (not request.path.startswith("/api/")
                                      and request.endpoint != "static"
                                      and current_user.is_authenticated):
            get_locale()

    @app.before_request
    def forced_password_change():
        if (request.path.startswith("/api/") or request.endpoint in _WHILE_FORCED
                or not current_user.is_authenticated or not current_user.must_change_password):
            return None
        return redirect(url_for("auth.password_page"))

    @app.after_request
    def auth_headers(response):
        if (request.endpoint or "").startswith("auth."):
            # pages that show a new token or a set-password link are never cached
            response.headers.setdefault("Cache-Control", "no-store")
        # Every 401 names the scheme to use (RFC 9110 15.5.2); a refused token says so
        # (RFC 6750 3.1).
        if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
            value = 'Bearer realm="ballistics"'
            if getattr(g, "bad_token", False):
                value += ', error="invalid_token"'
            response.headers["WWW-Authenticate"] = value
        return response
