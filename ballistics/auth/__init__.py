"""Labs, users, roles, API tokens, login and permission checks."""

from flask import Flask, g, request


def init_app(app: Flask) -> None:
    from ballistics.auth.models import User
    from ballistics.auth.services import user_for_token
    from ballistics.core.domains import install
    from ballistics.core.errors import Unauthorized
    from ballistics.extensions import db, login_manager

    install(app, __name__)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None

    @app.before_request
    def bearer_auth() -> None:
        g.api_user = None
        if not request.path.startswith("/api/"):
            return
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.api_user = user_for_token(header.removeprefix("Bearer ").strip())
        elif header:
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
