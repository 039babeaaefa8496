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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ballistics.auth import accounts, forms, services
from ballistics.auth.access import require_role
from ballistics.auth.models import ApiToken, User
from ballistics.auth.permissions import MANAGE_ACCOUNTS, MANAGE_LAB_SETTINGS, grantable
from ballistics.core import confirm
from ballistics.core.context import acting_as
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
        flash(_("Unknown username or wrong password."), "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 401


@bp.post("/language")
def language() -> ResponseReturnValue:
    """The user's language: remembered on the account, and in a cookie for the login page."""
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        choices = ", ".join(LANGUAGES)
        raise Unprocessable(_("lang: one of %(choices)s.", choices=choices),
                            fields={"lang": [_("One of %(choices)s.",
                                                                           choices=choices)]})
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
             token_form: PageForm | None = None, revoking: tuple | None = None) -> str:
    tokens = services.active_tokens([current_user.id])
    return render_template(
        "auth/account.html", forced=current_user.must_change_password,
        password_form=form if isinstance(form, forms.PasswordChangeForm)
        else forms.PasswordChangeForm(formdata=None),
        token_form=token_form or forms.TokenCreateForm(formdata=None),
        button=forms.ButtonForm(formdata=None), new_token=secret, tokens=tokens,
        revokes=_revoke_forms(tokens, revoking))


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
                  done=lambda _u: (_("Password changed. Your other sessions were ended."),
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
    return _revoke(token, lambda bound: _account(None, revoking=(token.id, bound)),
                   done=lambda _n: (_("Token “%(name)s” revoked.", name=token.name),
                                    url_for(".account_page")))


def _revoke_forms(tokens: list[ApiToken], revoking: tuple | None = None) -> dict[int, PageForm]:
    """Per listed token, its revoke form with the box naming it (``revoking``: the token id
    and the bound form of a refused POST, shown with its message)."""
    revokes = {t.id: forms.RevokeForm(formdata=None) for t in tokens}
    if revoking is not None:
        revokes[revoking[0]] = revoking[1]
    for t in tokens:
        confirm.ask(revokes[t.id], token_consequence(t))
    return revokes


def token_consequence(token: ApiToken) -> str:
    return _("I confirm: API token “%(name)s” of %(user)s stops working now, for good; scripts "
             "using it are refused.", name=token.name, user=token.user.username)


def _revoke(token: ApiToken, render: Callable[[PageForm], str],
            done: Callable[[Any], tuple[str, str]]) -> ResponseReturnValue:
    """Revoke one token once the box naming it was ticked (else 422, nothing written)."""
    form = confirm.ask(forms.RevokeForm(), token_consequence(token))

    def call(_data: dict) -> int:
        confirm.require(form, render)
        return services.revoke([token])

    return submit(form, call, render=render, done=done)


# --- the lab's accounts (lab managers and admins) ---------------------------------------------

def _manager() -> None:
    require_role(current_user, MANAGE_ACCOUNTS, "manage accounts")


@bp.route("/accounts")
@login_required
def accounts_page() -> ResponseReturnValue:
    _manager()
    return _accounts(None)


def _accounts(form: PageForm | None, secret: tuple | None = None,
              revoking: tuple | None = None) -> str:
    settings = form if isinstance(form, forms.LabSettingsForm) else forms.LabSettingsForm(
        formdata=None, data={"time_zone": current_user.lab.time_zone})
    if isinstance(form, forms.LabSettingsForm):
        form = None
    users = db.session.scalars(select(User).where(User.lab_id == current_user.lab_id)
                               .order_by(User.full_name)).all()
    tokens = services.active_tokens([u.id for u in users])
    return render_template("auth/accounts.html", users=users, tokens=tokens,
                           form=form or forms.UserCreateForm(formdata=None),
                           button=forms.ButtonForm(formdata=None), new_user=secret,
                           revokes=_revoke_forms(tokens, revoking),
                           grantable=grantable(current_user.roles), settings_form=settings,
                           may_set_lab=current_user.has_role(*MANAGE_LAB_SETTINGS))


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


@bp.post("/accounts/time-zone")
@login_required
def lab_time_zone() -> ResponseReturnValue:
    """The lab's time zone (a lab manager's setting): every page shows times in it."""
    _manager()
    form = forms.LabSettingsForm()
    return submit(form, lambda data: accounts.set_time_zone(current_user, data["time_zone"]),
                  schema=form.schema, render=_accounts,
                  done=lambda lab: (_("Times are now shown in %(zone)s.", zone=lab.time_zone),
                                    url_for(".accounts_page")))


@bp.route("/accounts/<int:user_id>")
@login_required
def user_page(user_id: int) -> ResponseReturnValue:
    return _user(accounts.managed_user(current_user, user_id), None)


def _user(user: User, form: PageForm | None, secret: tuple | None = None) -> str:
    roles_form = form if isinstance(form, forms.RolesForm) else forms.RolesForm(
        formdata=None, data={"roles": sorted(r.value for r in user.roles)})
    revoke_all = form if isinstance(form, forms.RevokeForm) else forms.RevokeForm(formdata=None)
    deactivate = (form if isinstance(form, forms.DeactivateForm)
                  else forms.DeactivateForm(formdata=None))
    tokens = services.active_tokens([user.id])
    return render_template("auth/user.html", user=user, roles_form=roles_form,
                           button=forms.ButtonForm(formdata=None), link=secret, tokens=tokens,
                           revokes=_revoke_forms(tokens),
                           revoke_all=confirm.ask(revoke_all, revoke_all_consequence(user)),
                           deactivate=confirm.ask(deactivate, deactivate_consequence(user)),
                           grantable=grantable(current_user.roles))


def revoke_all_consequence(user: User) -> str:
    return _("I confirm: every API token of %(user)s stops working now, for good; scripts "
             "using them are refused.", user=user.username)


def deactivate_consequence(user: User) -> str:
    """Names the account and the tokens that stop working (counted now: the page is shown with
    the count it will revoke)."""
    working = len(services.active_tokens([user.id]))
    if not working:
        return _("I confirm: %(user)s (%(name)s) can no longer sign in and their sessions end; "
                 "they have no working API token.", user=user.username, name=user.full_name)
    return ngettext("I confirm: %(user)s (%(name)s) can no longer sign in, their sessions end "
                    "and their %(num)d working API token stops working for good.",
                    "I confirm: %(user)s (%(name)s) can no longer sign in, their sessions end "
                    "and their %(num)d working API tokens stop working for good.",
                    working, user=user.username, name=user.full_name)


@bp.post("/accounts/<int:user_id>/roles")
@login_required
def user_roles(user_id: int) -> ResponseReturnValue:
    user = accounts.managed_user(current_user, user_id)
    form = forms.RolesForm()
    render = partial(_user, user)
    data = load(form, form.schema, render, _roles_input(form))
    return submit(form, lambda _d: accounts.set_roles(current_user, user, data["roles"]),
                  render=render, done=lambda u: (_("Roles of %(u)s saved.", u=u.username),
                                                 url_for(".user_page", user_id=u.id)))


#: account actions behind one button: the service and what the page says when it is done
ACTIONS: dict[str, tuple[Callable[[User, User], Any], Any]] = {
    "deactivate": (accounts.deactivate,
                   _l("%(u)s deactivated: sessions ended, API tokens revoked.")),
    "reactivate": (accounts.reactivate, _l("%(u)s reactivated.")),
    "force-password-change": (accounts.force_password_change,
                              _l("%(u)s must choose a new password at the next login.")),
    "revoke-tokens": (accounts.revoke_tokens, _l("API tokens of %(u)s revoked.")),
}


@bp.post("/accounts/<int:user_id>/<action>")
@login_required
def user_action(user_id: int, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    user = accounts.managed_user(current_user, user_id)
    service, message = ACTIONS[action]
    render = partial(_user, user)
    form = forms.ButtonForm()
    if action == "revoke-tokens":  # not undone: the box naming the user must be ticked
        form = confirm.ask(forms.RevokeForm(), revoke_all_consequence(user))
    elif action == "deactivate":  # its token revocation is not undone by reactivating
        form = confirm.ask(forms.DeactivateForm(), deactivate_consequence(user))

    def call(_data: dict) -> Any:
        if "confirm" in form:
            confirm.require(form, render)
        return service(current_user, user)

    return submit(form, call, render=render,
                  done=lambda _r: (str(message) % {"u": user.username},
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
    return _revoke(token, lambda bound: _accounts(None, revoking=(token.id, bound)),
                   done=lambda _n: (_("Token “%(name)s” of %(u)s revoked.", name=token.name,
                                      u=token.user.username),
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
        # The link's holder acts as its user: the audit entries name the user who set the
        # password (they are noted when the change is flushed, before the login below).
        with acting_as(user.id, user.lab_id, "web"):
            done = accounts.complete_reset(token, data["new_password"])
        logout_user()
        login_user(done)
        return done

    return submit(form, call, schema=form.schema, render=partial(_reset, user),
                  done=lambda u: (_("Password set. Welcome, %(name)s.", name=u.full_name),
                                  url_for("evidence.case_list")))
