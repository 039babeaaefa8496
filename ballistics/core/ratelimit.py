"""Rate limits that hold: one counter store for every web process, keys that name who is
limited, and a Retry-After on every 429.

- **Storage**: ``RATELIMIT_STORAGE_URI``; Redis in production, so every gunicorn worker on
  every machine counts against the same number. ``memory://`` (the embedded default) counts
  per process, which is why ``scripts/run`` serves with one gunicorn process and threads.
- **Strategy**: a moving window, so "10 per minute" means at most 10 in any 60 seconds (a
  fixed window lets twice that through around its boundary).
- **Login**: two limits shared by the login page and ``POST /api/v1/tokens``: per account
  (the username tried, ``RATELIMIT_LOGIN``), so spreading guesses over many addresses does not
  help, and per client address (``RATELIMIT_LOGIN_ADDRESS``), so one address cannot try many
  accounts. Every attempt counts, successful or not (counted before the password is checked,
  so simultaneous requests cannot slip past).
- **Client address**: the connection's peer, unless ``TRUSTED_PROXIES`` (hops of reverse
  proxies in front of the app, default 0) is set: then werkzeug's ``ProxyFix`` takes the
  address from that many ``X-Forwarded-For`` entries (and the scheme and host from the
  ``X-Forwarded-*`` headers). Without it the header is ignored: a client cannot choose the
  address it is counted under.
- **Expensive work per user**: manual searches (``RATELIMIT_SEARCH``) and scan uploads
  (``RATELIMIT_UPLOAD``), shared by the API and the pages.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from ballistics.extensions import limiter


def init_app(app: Flask) -> None:
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops)
    app.after_request(_retry_after)
    if not (app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION")):
        app.extensions["ratelimit_unlimited_filter"] = True


@limiter.request_filter
def _unlimited_view() -> bool:
    """A view that no limit names (every limit is put on through the helpers below, and no
    default or application-wide limit is configured) skips the limiter's per-request work of
    resolving its limits (about 7 % of the calls of a receive, which has none). Views with a
    limit go through it as before."""
    if not current_app.extensions.get("ratelimit_unlimited_filter"):
        return False
    view = current_app.view_functions.get(request.endpoint)
    return view is not None and not getattr(view, LIMITED, False)


#: attribute of a view function that carries a limit (kept by the wrappers, which copy it)
LIMITED = "rate_limited"


def _limited(view: Callable) -> Callable:
    setattr(view, LIMITED, True)
    return view


def client_address() -> str:
    return f"address:{request.remote_addr or 'unknown'}"


def account_tried() -> str:
    """The username a login attempt names (form or JSON), as it is looked up."""
    name = request.form.get("username") if request.form else None
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    name = name.strip().lower()[:80] if isinstance(name, str) else ""
    return f"account:{name or '-'}"


def per_user() -> str:
    user = getattr(g, "api_user", None)
    if user is None and current_user and current_user.is_authenticated:
        user = current_user
    return f"user:{user.id}" if user is not None else client_address()


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def login_limits(view: Callable) -> Callable:
    """Both login limits, shared by every login route."""
    view = _limited(view)
    view = limiter.shared_limit(_setting("RATELIMIT_LOGIN"), scope="login-account",
                                key_func=account_tried, methods=["POST"])(view)
    return limiter.shared_limit(_setting("RATELIMIT_LOGIN_ADDRESS"), scope="login-address",
                                key_func=client_address, methods=["POST"])(view)


def search_limit(view: Callable) -> Callable:
    """Manual searches per user (each queues a search over every reference)."""
    return limiter.shared_limit(_setting("RATELIMIT_SEARCH"), scope="searches",
                                key_func=per_user)(_limited(view))


def upload_limit(view: Callable) -> Callable:
    """Scan uploads per user (each is checked in full, stored and queued for extraction)."""
    return limiter.shared_limit(_setting("RATELIMIT_UPLOAD"), scope="uploads",
                                key_func=per_user)(_limited(view))


def retry_after() -> int:
    """Whole seconds until the limit just hit lets a request through again (at least 1): read
    once per request, so the message and the Retry-After header say the same."""
    if "retry_after" not in g:
        current = limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current is not None else 60
        g.retry_after = max(1, wait)
    return g.retry_after


def refusal_message() -> str:
    """What a 429 says to a person, in their language (the limiter's own text is the limit in
    English: '10 per 1 minute')."""
    return ngettext("Too many requests in a short time; nothing was done. Try again in "
                    "%(num)s second.", "Too many requests in a short time; nothing was done. "
                    "Try again in %(num)s seconds.", retry_after())


def _retry_after(response: Response) -> Response:
    """Every 429, JSON or page, says when to come back (whole seconds, at least 1)."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(retry_after())
    return response
