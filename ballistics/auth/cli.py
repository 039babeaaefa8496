"""``flask --app wsgi accounts ...``: labs and user accounts from the command line.

The operator at the server's shell is trusted like an admin of every lab, but the same rules
hold as on the pages (password policy, the last admin, unique names). A refusal prints one
line (``Error: ...``) and exits 1, never a traceback, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ballistics.auth import accounts
from ballistics.auth import services as svc
from ballistics.auth.models import Lab, User
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.core.errors import AppError
from ballistics.extensions import db

cli = AppGroup("accounts", help="Labs and user accounts.")
ROLE = click.Choice([r.value for r in Role])


@contextmanager
def _unit(lab_id: int | None, origin: str) -> Iterator[None]:
    """One command, one transaction: committed if it succeeds; a refusal rolls back and
    becomes a one-line error."""
    try:
        with acting_as(None, lab_id, f"cli:{origin}"):
            yield
            db.session.commit()
    except AppError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == svc.normal_username(username)))
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


def _password_prompt(username: str) -> str:
    return click.prompt(f"New password for {username}", hide_input=True,
                        confirmation_prompt=True)


@cli.command("create-lab")
@click.argument("code")
@click.argument("name")
@click.option("--country", default="")
def create_lab_command(code: str, name: str, country: str) -> None:
    """Register a lab."""
    with _unit(None, "create-lab"):
        lab = svc.create_lab(code, name, country)
    click.echo(f"lab {lab.id} {lab.code}")


@cli.command("create-user")
@click.argument("lab_code")
@click.argument("username")
@click.argument("full_name")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE)
@click.password_option(help="asked for if not given; at least 12 characters, not common")
def create_user_command(lab_code: str, username: str, full_name: str, roles: tuple[str],
                        password: str) -> None:
    """Add a user to a lab (the password is asked for, never echoed)."""
    lab = db.session.scalar(select(Lab).where(Lab.code == lab_code.strip().upper()))
    if lab is None:
        raise click.ClickException(f"no lab {lab_code}")
    with _unit(lab.id, "create-user"):
        user = svc.create_user(lab, username, full_name, password, [Role(r) for r in roles])
    click.echo(f"user {user.id} {user.username}")


def _on_user(name: str, help_text: str):
    """A command acting on one user: ``accounts NAME USERNAME``."""

    def decorator(fn: Callable[[User], str]) -> Callable:
        @cli.command(name, help=help_text)
        @click.argument("username")
        def command(username: str) -> None:
            user = _user(username)
            with _unit(user.lab_id, name):
                message = fn(user)
            click.echo(message)

        return command

    return decorator


@_on_user("deactivate", "Deactivate an account: its sessions end and its API tokens are revoked.")
def deactivate(user: User) -> str:
    accounts.deactivate(None, user)
    return f"{user.username} deactivated"


@_on_user("reactivate", "Reactivate a deactivated account.")
def reactivate(user: User) -> str:
    accounts.reactivate(None, user)
    return f"{user.username} reactivated"


@_on_user("revoke-tokens", "Revoke every API token of a user.")
def revoke_tokens(user: User) -> str:
    return f"{accounts.revoke_tokens(None, user)} token(s) of {user.username} revoked"


@cli.command("reset-password")
@click.argument("username")
@click.option("--link", is_flag=True,
              help="print a one-time set-password link (PUBLIC_URL) instead of asking for one")
@click.option("--must-change", is_flag=True,
              help="the user must choose another password at the next login")
def reset_password_command(username: str, link: bool, must_change: bool) -> None:
    """Set a user's password (asked for), or print a one-time set-password link. Either way
    their sessions end; a password set here also revokes their API tokens."""
    user = _user(username)
    password = None if link else _password_prompt(user.username)
    with _unit(user.lab_id, "reset-password"):
        if link:
            token, expires_at = accounts.issue_reset(None, user)
        else:
            accounts.set_password(user, password)
            accounts.revoke_tokens(None, user)
        if must_change:
            accounts.force_password_change(None, user)
    if link:
        base = current_app.config["PUBLIC_URL"]
        click.echo(f"{base}/password/{token}  (works once, until {expires_at:%Y-%m-%d %H:%M} "
                   "UTC)")
    else:
        click.echo(f"password of {user.username} set; sessions ended, tokens revoked")


@cli.command("set-roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE)
def set_roles_command(username: str, roles: tuple[str]) -> None:
    """Replace a user's roles (the lab's last active admin keeps the admin role)."""
    user = _user(username)
    with _unit(user.lab_id, "set-roles"):
        accounts.set_roles(None, user, [Role(r) for r in roles])
    click.echo(f"{user.username}: {', '.join(sorted(roles))}")
