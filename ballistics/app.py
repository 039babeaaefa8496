"""Application factory: extensions, blueprints, one transaction per request, error bodies."""

from __future__ import annotations

import importlib

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ballistics.core.errors import AppendOnlyViolation, AppError, Unauthorized
from ballistics.extensions import csrf, db, limiter, login_manager, migrate
from config import load_settings

# Self-hosted assets only; the pages need no third-party origin.
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
       "form-action 'self'")


def create_app(overrides: dict | None = None) -> Flask:
    settings = load_settings(overrides)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(settings)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_repo_path("migrations")))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    limiter.init_app(app)
    _configure_sqlite(app)
    _register_models()
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_error_handlers(app)
    from ballistics.cli import register_cli
    from workers.celery_app import make_celery

    register_cli(app)
    from sop.cli import sop_cli

    app.cli.add_command(sop_cli)
    make_celery(app)
    return app


def _repo_path(name: str):
    from config import REPO_ROOT

    return REPO_ROOT / name


def _configure_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the web and the worker read while one writes; wait rather than fail.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()


# Every module that defines models or registers session listeners: metadata (and so the
# migrations) must see all tables, and the audit and after-commit hooks must be active.
MODEL_MODULES = (
    "ballistics.auth.models",
    "ballistics.audit.models",
    "ballistics.audit.services",
    "ballistics.evidence.models",
    "ballistics.comparisons.models",
    "ballistics.core.after_commit",
    "sop.models",
)


def _register_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


def _register_blueprints(app: Flask) -> None:
    from ballistics.auth import api as auth_api
    from ballistics.auth import views as auth_views
    from ballistics.comparisons import api as comparisons_api
    from ballistics.comparisons import views as comparisons_views
    from ballistics.core import openapi
    from ballistics.evidence import api as evidence_api
    from ballistics.evidence import views as evidence_views
    from sop import api as sop_api
    from sop import views as sop_views

    for bp in (auth_api.bp, evidence_api.bp, comparisons_api.bp, sop_api.bp, openapi.bp):
        csrf.exempt(bp)  # the API authenticates with bearer tokens only, never cookies
        app.register_blueprint(bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(evidence_views.bp)
    app.register_blueprint(comparisons_views.bp)
    app.register_blueprint(sop_views.bp)

    @app.route("/")
    def index():
        return redirect(url_for("evidence.case_list"))


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _register_request_hooks(app: Flask) -> None:
    from ballistics.auth.models import User
    from ballistics.auth.services import user_for_token

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None

    @app.before_request
    def bearer_auth() -> None:
        g.api_user = None
        if not _is_api():
            return
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.api_user = user_for_token(header.removeprefix("Bearer ").strip())
        elif header:
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")

    @app.after_request
    def finish(response):
        # One commit per request: services only flush, so a refusal leaves nothing behind.
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if _is_api() or request.endpoint in {"auth.login"}:
            h.setdefault("Cache-Control", "no-store")
        return response


def _error_response(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": code, "message": message, "fields": fields or {}}
    if _is_api():
        return jsonify(body), status
    return render_template("error.html", error=body, status=status), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        db.session.rollback()
        return _error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError):
        db.session.rollback()
        messages = exc.messages if isinstance(exc.messages, dict) else {"_body": exc.messages}
        names = ", ".join(sorted(messages))
        return _error_response(422, "validation_error", f"Invalid input in: {names}.", messages)

    @app.errorhandler(AppendOnlyViolation)
    def append_only(exc: AppendOnlyViolation):
        db.session.rollback()
        return _error_response(409, "append_only", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _error_response(500, "internal_error", "An internal error occurred; it was "
                               "logged and nothing was saved.")
