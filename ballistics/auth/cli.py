"""``flask --app wsgi accounts ...``: labs and users from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ballistics.auth import services as accounts
from ballistics.auth.models import Lab
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.extensions import db

cli = AppGroup("accounts", help="Labs and user accounts.")


@cli.command("create-lab")
@click.argument("code")
@click.argument("name")
@click.option("--country", default="")
def create_lab_command(code: str, name: str, country: str) -> None:
    """Register a lab."""
    with acting_as(None, None, "cli:create-lab"):
        lab = accounts.create_lab(code, name, country)
    db.session.commit()
    click.echo(f"lab {lab.id} {lab.code}")


@cli.command("create-user")
@click.argument("lab_code")
@click.argument("username")
@click.argument("full_name")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]))
@click.password_option()
def create_user_command(lab_code: str, username: str, full_name: str, roles: tuple[str],
                        password: str) -> None:
    """Add a user to a lab (the password is asked for, never echoed)."""
    lab = db.session.scalar(select(Lab).where(Lab.code == lab_code))
    if lab is None:
        raise click.ClickException(f"no lab {lab_code}")
    with acting_as(None, lab.id, "cli:create-user"):
        user = accounts.create_user(lab, username, full_name, password,
                                    [Role(r) for r in roles])
    db.session.commit()
    click.echo(f"user {user.id} {user.username}")
