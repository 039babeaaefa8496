"""Flask CLI commands: ``flask --app wsgi <command>``."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from ballistics.auth import services as accounts
from ballistics.auth.models import Lab
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.extensions import db

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the demo lab only, printed at start-up
DEMO_USERS = [
    ("tech", "Tara Technician", [Role.EVIDENCE_TECHNICIAN]),
    ("examiner", "Eli Examiner", [Role.EXAMINER]),
    ("reviewer", "Rita Reviewer", [Role.EXAMINER, Role.TECHNICAL_REVIEWER]),
    ("manager", "Max Manager", [Role.LAB_MANAGER]),
    ("admin", "Ada Admin", [Role.ADMIN]),
]


def seed_demo() -> list[tuple[str, str, str]]:
    """Create the demo lab, its users and a case with evidence; idempotent."""
    from ballistics.evidence import custody
    from ballistics.evidence.services import create_case, create_location

    if db.session.scalar(select(Lab).where(Lab.code == "DEMO")) is not None:
        return [(u, DEMO_PASSWORD, ", ".join(r.value for r in roles))
                for u, _, roles in DEMO_USERS]
    with acting_as(None, None, "cli:seed-demo"):
        lab = accounts.create_lab("DEMO", "Demo National Firearms Laboratory", "Demo")
        users = {u: accounts.create_user(lab, u, name, DEMO_PASSWORD, roles)
                 for u, name, roles in DEMO_USERS}
        partner = accounts.create_lab("PARTNER", "Partner Firearms Laboratory", "Partner")
        accounts.create_user(partner, "partner", "Pat Partner", DEMO_PASSWORD, [Role.EXAMINER])
    with acting_as(users["manager"].id, lab.id, "cli:seed-demo"):
        vault = create_location(users["manager"], code="VAULT-A1", name="Evidence vault, shelf A1")
    tech = users["tech"]
    with acting_as(tech.id, lab.id, "cli:seed-demo"):
        case = create_case(tech, submitting_agency="Central Police Division",
                           agency_case_number="CPD-2026-118", offence="Shooting with intent")
        pistol = custody.receive(tech, case, kind="firearm", from_agency="Central Police Division",
                                 description="Semi-automatic pistol", make="Ruger", model="P95",
                                 serial_number="312-45678", calibre="9mm Luger")
        for n in range(3):
            custody.receive(tech, case, kind="cartridge_case", calibre="9mm Luger",
                            from_agency="Central Police Division",
                            description=f"Fired cartridge case from scene, marker {n + 1}")
        custody.seal(tech, pistol, seal_number="S-000123")
        custody.store(tech, pistol, location_id=vault.id)
    db.session.commit()
    return [(u, DEMO_PASSWORD, ", ".join(r.value for r in roles)) for u, _, roles in DEMO_USERS]


def register_cli(app: Flask) -> None:
    from ballistics.comparisons import cli as comparisons_cli

    comparisons_cli.register(app)

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create a demo lab with users and evidence (idempotent); print the logins."""
        for username, password, roles in seed_demo():
            click.echo(f"  {username:10s} {password}   ({roles})")

    @app.cli.command("create-lab")
    @click.argument("code")
    @click.argument("name")
    @click.option("--country", default="")
    def create_lab_command(code: str, name: str, country: str) -> None:
        """Register a lab."""
        with acting_as(None, None, "cli:create-lab"):
            lab = accounts.create_lab(code, name, country)
        db.session.commit()
        click.echo(f"lab {lab.id} {lab.code}")

    @app.cli.command("create-user")
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

