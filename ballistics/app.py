"""Application factory: extensions, the domains, one transaction per request, error bodies."""

from __future__ import annotations

import importlib

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ballistics.core import i18n, ratelimit
from ballistics.core.api import check_path_ids
from ballistics.core.celery import init_celery
from ballistics.core.errors import AppendOnlyViolation, AppError
from ballistics.core.forms import FormRefused
from ballistics.core.labels import LABELS
from ballistics.core.request import AppRequest
from ballistics.core.schema import flat_messages
from ballistics.core.validation_messages import api_messages, localize_all
from ballistics.extensions import csrf, db, limiter, login_manager, migrate
from config import REPO_ROOT, load_settings

#: the domain packages, in dependency order; each offers ``init_app(app)`` (see
#: :mod:`ballistics.core.domains`), so a new domain is one package and one line here
DOMAINS = (
    "ballistics.auth",
    "ballistics.audit",
    "ballistics.outbox",
    "ballistics.evidence",
    "sop",
    "ballistics.comparisons",
    "ballistics.ledger",
    "ballistics.network",
    "ballistics.backup",
)

# Self-hosted assets only; the pages need no third-party origin.
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
       "form-action 'self'")


def create_app(overrides: dict | None = None) -> Flask:
    settings = load_settings(overrides)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=False)
    app.request_class = AppRequest
    app.config.update(settings)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    ratelimit.init_app(app)
    init_celery(app)
    i18n.init_app(app)
    _configure_sqlite(app)
    importlib.import_module("ballistics.core.after_commit")
    for name in DOMAINS:
        importlib.import_module(name).init_app(app)
    _register_app_routes(app)
    _register_request_hooks(app)
    _register_error_handlers(app)
    return app


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


def _register_app_routes(app: Flask) -> None:
    from ballistics.core import health, openapi
    from ballistics.demo import demo_cli

    health.init_app(app)

    csrf.exempt(openapi.bp)
    app.register_blueprint(openapi.bp)
    app.cli.add_command(demo_cli)

    @app.route("/")
    def index():
        if app.config["APP_ROLE"] == "hub":  # the hub holds no cases: its staff start at the hub
            return redirect(url_for("network.hub_dashboard"))
        return redirect(url_for("evidence.case_list"))


def _is_api() -> bool:
    """JSON answers: the users' API and the hub's API for lab nodes."""
    return request.path.startswith(("/api/", "/hub/"))


def _register_request_hooks(app: Flask) -> None:
    app.url_value_preprocessor(lambda _endpoint, values: check_path_ids(values))

    @app.after_request
    def finish(response):
        # One commit per request, on success; every error handler has rolled back already
        # (Indico's rule: commit unless an exception was raised, whatever the status code).
        if g.pop("failed", False):
            db.session.rollback()
        else:
            db.session.commit()
        # Each header unless the view set it (setdefault, but the names already present are
        # read once: seven setdefault calls scanned the headers three times each).
        h = response.headers
        present = {name.lower() for name, _ in h.items()}
        extra = [*_SECURITY_HEADERS]
        if request.is_secure:
            extra.append(_HSTS)
        if _is_api() or request.endpoint in {"auth.login"}:
            extra.append(_NO_STORE)
        for name, value in extra:
            if name.lower() not in present:
                h.add(name, value)
        return response


_SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                     ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
                     ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
                     ("Cross-Origin-Opener-Policy", "same-origin"))
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
_NO_STORE = ("Cache-Control", "no-store")


def _error_response(status: int, code: str, message: str, fields: dict | None = None,
                    headers: dict | None = None):
    g.failed = True
    db.session.rollback()
    messages = flat_messages(fields or {})
    # Field messages in the reader's language, marshmallow's included: the one place every
    # refusal (a schema's, a service's) passes on its way out.
    body = {"error": code, "message": message, "fields": api_messages(messages) if _is_api()
            else localize_all(messages)}
    if _is_api():
        return jsonify(body), status, headers or {}
    # A page's heading names the kind of error in the reader's language: an app error's own
    # code (not_shared, already_asked...) has no label, so its status's generic one is shown.
    heading = code if code in LABELS else _STATUS_HEADINGS.get(status, code)
    return render_template("error.html", error=body, status=status, heading=heading), status, \
        headers or {}


#: the labelled code (ballistics.core.labels) a page's heading shows for an app error's status
_STATUS_HEADINGS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                    409: "conflict", 422: "validation_error", 429: "too_many_requests",
                    500: "internal_error", 503: "unavailable"}


#: what a page says for an HTTP error raised without a message of the app's own (Werkzeug's
#: sentences are English only)
_HTTP_MESSAGES = {
    400: _l("The request could not be understood; nothing was saved."),
    403: _l("You may not open this page."),
    404: _l("There is no page at this address. Check the address, or go back and follow a "
            "link."),
    405: _l("This address does not accept that kind of request."),
    413: _l("The upload is larger than allowed; nothing was saved."),
}


#: what the API says instead where a page's sentence would not fit
_API_HTTP_MESSAGES = {
    404: _l("There is no operation at this address; the API's operations are listed at "
            "/api/v1/openapi.json."),
    405: _l("This operation does not accept that method; the API's operations are listed at "
            "/api/v1/openapi.json."),
}


def _unique_violation(exc: IntegrityError) -> bool:
    """A UNIQUE constraint's refusal (PostgreSQL's SQLSTATE 23505, SQLite's message); not a
    foreign key or NOT NULL one, which would be a bug."""
    return (getattr(exc.orig, "sqlstate", None) == "23505"
            or "UNIQUE constraint failed" in str(exc.orig))


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(FormRefused)
    def form_refused(exc: FormRefused):
        g.failed = True
        db.session.rollback()  # before rendering: the page must not show the refused change
        return exc.page()

    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        return _error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError):
        messages = flat_messages(exc.messages)
        names = ", ".join(sorted(messages))
        return _error_response(422, "validation_error", _("Invalid input in: %(names)s.",
                                                           names=names), messages)

    @app.errorhandler(AppendOnlyViolation)
    def append_only(exc: AppendOnlyViolation):
        return _error_response(409, "append_only", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        # Keep what the exception says in headers (405's Allow), not its content type.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        description = exc.description or exc.name
        if exc.description == type(exc).description:  # Werkzeug's sentence, English only
            messages = {**_HTTP_MESSAGES, **_API_HTTP_MESSAGES} if _is_api() else _HTTP_MESSAGES
            description = str(messages.get(exc.code, description))
        if exc.code == 429:  # the limiter's text is the limit ("10 per 1 minute"), in English
            description = ratelimit.refusal_message()
        return _error_response(exc.code or 500, code, description, headers=headers)

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError):
        if not _unique_violation(exc):
            return unexpected(exc)
        # Two requests recorded the same thing at the same moment and the database kept one:
        # the loser's transaction is rolled back whole, which is a conflict, not a crash.
        app.logger.warning("unique violation answered 409: %s", exc.orig)
        return _error_response(409, "concurrent_change", _(
            "Someone else recorded the same thing at the same moment; nothing of yours was "
            "saved. Reload and try again."))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return _error_response(500, "internal_error", _("An internal error occurred; it was "
                                                        "logged and nothing was saved."))
