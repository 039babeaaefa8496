"""The demo lab: ``flask --app wsgi seed-demo`` (used by ``scripts/run``)."""

from __future__ import annotations

import click
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
    _quality(lab, users)
    db.session.commit()
    return [(u, DEMO_PASSWORD, ", ".join(r.value for r in roles)) for u, _, roles in DEMO_USERS]


def _quality(lab: Lab, users: dict) -> None:
    """The shipped SOP library in force, FA-09 as the hit-confirmation SOP, the examiner and
    the reviewer authorised for it and a calibrated microscope: leads can be confirmed."""
    from datetime import timedelta

    from ballistics.comparisons.confirmations import update_settings
    from ballistics.core import timeutil
    from sop.services import equipment, personnel
    from sop.services.library import effective_versions, load_library

    manager, today = users["manager"], timeutil.utcnow().date()
    with acting_as(manager.id, lab.id, "cli:seed-demo"):
        load_library(lab, approver=manager)
        fa09 = effective_versions(lab.id)["FA-09"]
        for who in ("examiner", "reviewer"):
            personnel.grant_authorisation(manager, user_id=users[who].id, sop_id=fa09.sop_id,
                                          starts_on=today, expires_on=today + timedelta(days=365))
        microscope = equipment.register(manager, code="MIC-01", name="Comparison microscope",
                                        kind="comparison_microscope")
        equipment.record_calibration(manager, microscope, kind="calibration",
                                     performed_on=today, due_on=today + timedelta(days=365),
                                     is_passed=True, performed_by="Demo calibration service")
        update_settings(manager, confirmation_sop_id=fa09.sop_id, is_blind_verification=False)


@click.command("seed-demo")
def demo_cli() -> None:
    """Create a demo lab with users and evidence (idempotent); print the logins."""
    for username, password, roles in seed_demo():
        click.echo(f"  {username:10s} {password}   ({roles})")
