"""Login, "My account", the lab's accounts (managers and admins) and set-password links.

A routing table: handlers load input with the API's schemas and call the services in
``accounts.py``. A secret made for the user (a new API token, a set-password link) is shown
once, in the answer to the POST that made it, never put in the (readable) session cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ballistics.auth import accounts, forms, services
from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.auth.permissions import MANAGE_ACCOUNTS, grantable
from ballistics.core.errors import AppError, Unprocessable
from ballistics.core.forms import FormRefused, PageForm, form_input, load, submit
from ballistics.core.i18n import LANG_COOKIE, LANGUAGES
from ballistics.core.ratelimit import login_limits
from ballistics.extensions import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths, so the login form cannot be used as an open redirect.
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("evidence.case_list")


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated:
        return redirect(url_for("evidence.case_list"))
    form = forms.LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Unknown username or wrong password.", "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 401


@bp.post("/language")
def language() -> ResponseReturnValue:
    """The user's language: remembered on the account, and in a cookie for the login page."""
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        choices = ", ".join(LANGUAGES)
        raise Unprocessable(f"lang: one of {choices}.", fields={"lang": [f"One of {choices}."]})
    if current_user.is_authenticated:
        accounts.set_language(current_user, lang)
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Ends every session of the account: a copy of this cookie no longer works.
    current_user.end_sessions()
    logout_user()
    return redirect(url_for("auth.login"))


def _shown_once(form: PageForm, call: Callable[[dict], Any], render: Callable[..., str],
                data: dict | None = None) -> ResponseReturnValue:
    """Handle a form whose result is a secret to show once: refusals re-render like
    :func:`ballistics.core.forms.submit`; success renders the page with the secret (201)."""
    loaded = load(form, form.schema, render, data)
    try:
        secret = call(loaded)
    except AppError as exc:
        raise FormRefused(exc.message, form, render, exc.fields) from exc
    return render(None, secret=secret), 201


def _roles_input(form: PageForm) -> dict:
    return {**form_input(form), "roles": request.form.getlist("roles")}


# --- my account ---------------------------------------------------------------------------

@bp.route("/account")
@login_required
def account_page() -> ResponseReturnValue:
    return _account(None)


def _account(form: PageForm | None, *, secret: str | None = None,
             token_form: PageForm | None = None) -> str:
    return render_template(
        "auth/account.html", forced=current_user.must_change_password,
        password_form=form if isinstance(form, forms.PasswordChangeForm)
        else forms.PasswordChangeForm(formdata=None),
        token_form=token_form or forms.TokenCreateForm(formdata=None),
        button=forms.ButtonForm(formdata=None), new_token=secret,
        tokens=services.active_tokens([current_user.id]))


@bp.route("/account/password")
@login_required
def password_page() -> ResponseReturnValue:
    return _account(None)


@bp.post("/account/password")
@login_required
def password_change() -> ResponseReturnValue:
    form = forms.PasswordChangeForm()

    def call(data: dict) -> User:
        # the user itself, not the proxy: login_user stores what it is given as current_user
        user = accounts.change_password(current_user._get_current_object(), **data)
        login_user(user)  # this session goes on under the new session version
        return user

    return submit(form, call, schema=form.schema, render=_account,
                  done=lambda _u: ("Password changed. Your other sessions were ended.",
                                   url_for(".account_page")))


@bp.post("/account/tokens")
@login_required
def token_create() -> ResponseReturnValue:
    form = forms.TokenCreateForm()

    def render(bound: PageForm | None, secret: str | None = None) -> str:
        return _account(None, secret=secret, token_form=bound)

    return _shown_once(form, lambda data: accounts.create_token(current_user, **data), render)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int) -> ResponseReturnValue:
    token = accounts.own_token(current_user, token_id)
    return submit(forms.ButtonForm(), lambda _d: services.revoke([token]), render=_account,
                  done=lambda _n: (f"Token “{token.name}” revoked.", url_for(".account_page")))


# --- the lab's accounts (lab managers and admins) ---------------------------------------------

def _manager() -> None:
    require_role(current_user, MANAGE_ACCOUNTS, "manage accounts")


@bp.route("/accounts")
@login_required
def accounts_page() -> ResponseReturnValue:
    _manager()
    return _accounts(None)


def _accounts(form: PageForm | None, secret: tuple | None = None) -> str:
    users = db.session.scalars(select(User).where(User.lab_id == current_user.lab_id)
                               .order_by(User.full_name)).all()
    tokens = services.active_tokens([u.id for u in users])
    return render_template("auth/accounts.html", users=users, tokens=tokens,
                           form=form or forms.UserCreateForm(formdata=None),
                           button=forms.ButtonForm(formdata=None), new_user=secret,
                           grantable=grantable(current_user.roles))


@bp.post("/accounts")
@login_required
def user_create() -> ResponseReturnValue:
    _manager()
    form = forms.UserCreateForm()

    def render(bound: PageForm | None, secret: tuple | None = None) -> str:
        return _accounts(bound, secret)

    def call(data: dict) -> tuple:
        user, token, expires_at = accounts.add_user(current_user, **data)
        return user, url_for(".reset_page", token=token, _external=True), expires_at

    return _shown_once(form, call, render, _roles_input(form))


@bp.route("/accounts/<int:user_id>")
@login_required
def user_page(user_id: int) -> ResponseReturnValue:
    return _user(accounts.managed_user(current_user, user_id), None)


def _user(user: User, form: PageForm | None, secret: tuple | None = None) -> str:
    roles_form = form if isinstance(form, forms.RolesForm) else forms.RolesForm(
        formdata=None, data={"roles": sorted(r.value for r in user.roles)})
    return render_template("auth/user.html", user=user, roles_form=roles_form,
                           button=forms.ButtonForm(formdata=None), link=secret,
                           tokens=services.active_tokens([user.id]),
                           grantable=grantable(current_user.roles))


@bp.post("/accounts/<int:user_id>/roles")
@login_required
def user_roles(user_id: int) -> ResponseReturnValue:
    user = accounts.managed_user(current_user, user_id)
    form = forms.RolesForm()
    render = partial(_user, user)
    data = load(form, form.schema, render, _roles_input(form))
    return submit(form, lambda _d: accounts.set_roles(current_user, user, data["roles"]),
                  render=render, done=lambda u: (f"Roles of {u.username} saved.",
                                                 url_for(".user_page", user_id=u.id)))


#: account actions behind one button: the service and what the page says when it is done
ACTIONS: dict[str, tuple[Callable[[User, User], Any], str]] = {
    "deactivate": (accounts.deactivate, "{u} deactivated: sessions ended, API tokens revoked."),
    "reactivate": (accounts.reactivate, "{u} reactivated."),
    "force-password-change": (accounts.force_password_change,
                              "{u} must choose a new password at the next login."),
    "revoke-tokens": (accounts.revoke_tokens, "API tokens of {u} revoked."),
}


@bp.post("/accounts/<int:user_id>/<action>")
@login_required
def user_action(user_id: int, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    user = accounts.managed_user(current_user, user_id)
    service, message = ACTIONS[action]
    return submit(forms.ButtonForm(), lambda _d: service(current_user, user),
                  render=partial(_user, user),
                  done=lambda _r: (message.format(u=user.username),
                                   url_for(".user_page", user_id=user.id)))


@bp.post("/accounts/<int:user_id>/password-link")
@login_required
def user_password_link(user_id: int) -> ResponseReturnValue:
    user = accounts.managed_user(current_user, user_id)

    def call(_data: dict) -> tuple:
        token, expires_at = accounts.issue_reset(current_user, user)
        return user, url_for(".reset_page", token=token, _external=True), expires_at

    return _shown_once(forms.ButtonForm(), call,
                       lambda bound, secret=None: _user(user, bound, secret))


@bp.post("/accounts/tokens/<int:token_id>/revoke")
@login_required
def lab_token_revoke(token_id: int) -> ResponseReturnValue:
    _manager()
    token = services.token_in_lab(token_id, current_user.lab_id)
    if token.user_id != current_user.id:
        accounts.managed_user(current_user, token.user_id)
    return submit(forms.ButtonForm(), lambda _d: services.revoke([token]), render=_accounts,
                  done=lambda _n: (f"Token “{token.name}” of {token.user.username} revoked.",
                                   url_for(".accounts_page")))


# --- one-time set-password links (no login) -----------------------------------------------

@bp.route("/password/<token>")
def reset_page(token: str) -> ResponseReturnValue:
    reset = accounts.open_reset(token)
    return _reset(reset.user, None)


def _reset(user: User, form: PageForm | None) -> str:
    return render_template("auth/reset.html", user=user,
                           form=form or forms.PasswordSetForm(formdata=None))


@bp.post("/password/<token>")
def reset_submit(token: str) -> ResponseReturnValue:
    user = accounts.open_reset(token).user
    form = forms.PasswordSetForm()

    def call(data: dict) -> User:
        done = accounts.complete_reset(token, data["new_password"])
        logout_user()
        login_user(done)  # the audit entries name the user who set the password
        return done

    return submit(form, call, schema=form.schema, render=partial(_reset, user),
                  done=lambda u: (f"Password set. Welcome, {u.full_name}.",
                                  url_for("evidence.case_list")))
