"""The demo labs: ``flask --app wsgi seed-demo`` (used by ``scripts/run``).

One deployment holds both labs (``seed-demo``), or, for the networked demo (``scripts/run
--network``), each lab seeds its own node and the hub its staff (``seed-demo --lab DEMO``,
``--lab PARTNER``, ``--lab HUB``). A lab seeded on a node connected to a hub shares its scans
with every member, so the partner lab's search finds the demo lab's references.
"""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from sqlalchemy import select

from ballistics.auth import services as accounts
from ballistics.auth.models import Lab, User
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
#: the partner lab: another national lab of the network, to try sharing across labs
PARTNER_USERS = [
    ("partner", "Pat Partner", [Role.EXAMINER]),
    ("partner-manager", "Paz Partner-Manager", [Role.LAB_MANAGER]),
]
#: the regional hub's staff (its dashboard), on the hub of the networked demo
HUB_USERS = [("hub-operator", "Hugo Hub-Operator", [Role.LAB_MANAGER])]
LABS = {"DEMO": ("Demo National Firearms Laboratory", DEMO_USERS),
        "PARTNER": ("Partner Firearms Laboratory", PARTNER_USERS),
        "HUB": ("Regional hub", HUB_USERS)}
#: the synthetic firearms of the demo's scans: the demo lab's scene holds two cartridge cases
#: of the first and one of the second; the partner lab holds one more of the first
FIREARMS = (11, 23)


def logins(codes: tuple[str, ...] = ("DEMO", "PARTNER")) -> list[tuple[str, str, str, str]]:
    """(lab code, username, password, roles) of every demo account of these labs."""
    return [(code, u, DEMO_PASSWORD, ", ".join(r.value for r in roles))
            for code in codes for u, _, roles in LABS[code][1]]


def seed_demo(only: str | None = None) -> list[tuple[str, str, str, str]]:
    """Create the demo lab (users, evidence, quality records, scans) and the partner lab (users,
    a cartridge case and its scan), or only the lab ``only``; idempotent. Returns the logins
    of the labs seeded (:func:`logins`)."""
    codes = (only,) if only else ("DEMO", "PARTNER")
    for code in codes:
        if db.session.scalar(select(Lab).where(Lab.code == code)) is None:
            {"DEMO": _demo_lab, "PARTNER": _partner_lab, "HUB": _hub_staff}[code]()
            db.session.commit()
    return logins(codes)


def _create(code: str) -> tuple[Lab, dict[str, User]]:
    name, people = LABS[code]
    with acting_as(None, None, "cli:seed-demo"):
        lab = accounts.create_lab(code, name, name.split()[0])
        return lab, {u: accounts.create_user(lab, u, full, DEMO_PASSWORD, roles)
                     for u, full, roles in people}


def _demo_lab() -> None:
    from ballistics.evidence import custody
    from ballistics.evidence.services import create_case, create_location

    lab, users = _create("DEMO")
    with acting_as(users["manager"].id, lab.id, "cli:seed-demo"):
        vault = create_location(users["manager"], code="VAULT-A1", name="Evidence vault, shelf A1")
    tech = users["tech"]
    with acting_as(tech.id, lab.id, "cli:seed-demo"):
        case = create_case(tech, submitting_agency="Central Police Division",
                           agency_case_number="CPD-2026-118", offence="Shooting with intent")
        pistol = custody.receive(tech, case, kind="firearm", from_agency="Central Police Division",
                                 description="Semi-automatic pistol", make="Ruger", model="P95",
                                 serial_number="312-45678", calibre="9mm Luger")
        cartridges = [custody.receive(
            tech, case, kind="cartridge_case", calibre="9mm Luger",
            from_agency="Central Police Division",
            description=f"Fired cartridge case from scene, marker {n + 1}") for n in range(3)]
        custody.seal(tech, pistol, seal_number="S-000123")
        custody.store(tech, pistol, location_id=vault.id)
    _quality(lab, users)
    _personnel(lab, users)
    _equipment(lab, users)
    _scans(lab, tech, cartridges, (FIREARMS[0], FIREARMS[0], FIREARMS[1]))
    _casework(lab, users, cartridges)
    _share_on_the_network(lab, users["manager"])


def _partner_lab() -> None:
    """The partner lab: a cartridge case from its own scene, fired (unknown to it) by the
    demo lab's first firearm."""
    from ballistics.evidence import custody
    from ballistics.evidence.services import create_case

    lab, users = _create("PARTNER")
    examiner = users["partner"]
    with acting_as(examiner.id, lab.id, "cli:seed-demo"):
        case = create_case(examiner, submitting_agency="Northern Police",
                           agency_case_number="NP-2026-031", offence="Armed robbery")
        cartridge = custody.receive(examiner, case, kind="cartridge_case", calibre="9mm Luger",
                                    from_agency="Northern Police",
                                    description="Fired cartridge case from the shop floor")
    _scans(lab, examiner, [cartridge], (FIREARMS[0],), first=7)
    _share_on_the_network(lab, users["partner-manager"])


def _hub_staff() -> None:
    _create("HUB")


def _share_on_the_network(lab: Lab, manager: User) -> None:
    """On a node connected to a hub for this lab: share every scan with every member (each is
    offered to the hub once its features are ready)."""
    from ballistics.network import node

    cfg = current_app.config
    if cfg["APP_ROLE"] != "lab" or not cfg["NETWORK_HUB_URL"] or cfg["NETWORK_LAB"] != lab.code:
        return
    with acting_as(manager.id, lab.id, "cli:seed-demo"):
        node.set_policy(manager, mode="all", partners=[], offence_contains=[],
                        agency_contains=[])


def _quality(lab: Lab, users: dict) -> None:
    """The shipped SOP library in force, FA-09 as the hit-confirmation SOP, the examiner and
    the reviewer authorised for it and a calibrated microscope: leads can be confirmed."""
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


def _personnel(lab: Lab, users: dict) -> None:
    """Training, proficiency tests, two competency assessments a year apart (the chart has a
    line) and authorisations per SOP, one of them expiring within the month."""
    from sop.services import personnel
    from sop.services.library import effective_versions

    manager, today = users["manager"], _today()
    sops = {code: v.sop_id for code, v in effective_versions(lab.id).items()}
    with acting_as(manager.id, lab.id, "cli:seed-demo"):
        for who, title, code, days_ago, hours in (
                ("tech", "Evidence receipt, labelling and handling", "EV-01", 400, 8),
                ("tech", "Evidence storage, retention and disposal", "EV-02", 380, 4),
                ("examiner", "Comparison microscopy (in-house course)", "FA-06", 700, 40),
                ("examiner", "Cartridge case examination", "FA-04", 650, 24),
                ("examiner", "2D/3D imaging and database entry", "FA-07", 90, 16),
                ("reviewer", "Technical and administrative review", "QA-01", 500, 8)):
            personnel.record_training(manager, user_id=users[who].id, title=title,
                                      completed_on=today - timedelta(days=days_ago),
                                      provider="Demo training unit", sop_id=sops[code],
                                      hours=hours)
        for who, days_ago, ok in (("examiner", 200, True), ("reviewer", 150, True)):
            personnel.record_proficiency(manager, user_id=users[who].id,
                                         provider="Demo proficiency scheme",
                                         taken_on=today - timedelta(days=days_ago),
                                         is_satisfactory=ok, test_ref=f"PT-{today.year - 1}-07")
        for who, code, days in (("examiner", "FA-04", 20), ("examiner", "FA-06", 300),
                                ("examiner", "FA-07", 240), ("reviewer", "FA-04", 330),
                                ("reviewer", "QA-01", 330)):
            personnel.grant_authorisation(manager, user_id=users[who].id, sop_id=sops[code],
                                          starts_on=today - timedelta(days=365 - days),
                                          expires_on=today + timedelta(days=days))
    examiner, reviewer = users["examiner"], users["reviewer"]
    for days_ago, own, rated in ((380, 2, 2), (20, 3, 3)):
        with acting_as(examiner.id, lab.id, "cli:seed-demo"):
            assessment = personnel.self_assess(
                examiner, ratings={a: own for a in personnel.AREA_CODES},
                assessed_on=today - timedelta(days=days_ago))
        with acting_as(reviewer.id, lab.id, "cli:seed-demo"):
            personnel.supervise(reviewer, assessment,
                                ratings={a: rated for a in personnel.AREA_CODES})


def _equipment(lab: Lab, users: dict) -> None:
    """Instruments in every state the dashboard shows: calibrated, due within the month, and
    one whose performance check failed today, taken out of service."""
    from sop.services import equipment

    manager, today = users["manager"], _today()
    with acting_as(manager.id, lab.id, "cli:seed-demo"):
        scanner = equipment.register(manager, code="IMG-01", name="3D confocal scanner",
                                     kind="imaging_station", manufacturer="Demo Optics",
                                     serial_number="CF-2231", location="Imaging room")
        equipment.record_calibration(manager, scanner, kind="calibration",
                                     performed_on=today - timedelta(days=345),
                                     due_on=today + timedelta(days=20), is_passed=True,
                                     performed_by="Demo calibration service",
                                     certificate_ref="CAL-24-0912")
        equipment.record_calibration(manager, scanner, kind="performance_check",
                                     performed_on=today - timedelta(days=2),
                                     due_on=today + timedelta(days=5), is_passed=True,
                                     performed_by="Tara Technician")
        stereo = equipment.register(manager, code="STM-01", name="Stereo microscope",
                                    kind="stereo_microscope", location="Bench 2")
        equipment.record_calibration(manager, stereo, kind="calibration",
                                     performed_on=today - timedelta(days=100),
                                     due_on=today + timedelta(days=265), is_passed=True,
                                     performed_by="Demo calibration service")
        balance = equipment.register(manager, code="BAL-01", name="Analytical balance",
                                     kind="balance", manufacturer="Demo Scales",
                                     location="Bench 1")
        equipment.record_calibration(manager, balance, kind="calibration",
                                     performed_on=today - timedelta(days=200),
                                     due_on=today + timedelta(days=165), is_passed=True,
                                     performed_by="Demo calibration service")
        equipment.record_calibration(manager, balance, kind="performance_check",
                                     performed_on=today, due_on=today + timedelta(days=7),
                                     is_passed=False, performed_by="Tara Technician",
                                     notes="Check weight 10.000 g read 10.012 g (limit 0.005 g)")
        equipment.set_service(manager, balance, out_of_service=True,
                              reason="Failed its daily performance check (check weight read "
                                     "10.012 g, limit 0.005 g); awaiting service.")
        _nonconformity(manager, users["tech"], balance.code, today)


def _nonconformity(manager, tech, code: str, today: date) -> None:
    from sop.services import quality

    nc = quality.open_nonconformity(
        manager, title=f"{code} failed its performance check",
        description="The analytical balance read outside its tolerance; weighings since the "
                    "last passing check must be reviewed.", severity="minor")
    quality.add_action(manager, nc, kind="corrective", owner_id=tech.id,
                       description="Review the weighings since the last passing check and "
                                   "have the balance serviced and recalibrated.",
                       due_on=today + timedelta(days=14))


def _scans(lab: Lab, tech, cartridges: list, firearms: tuple[int, ...], first: int = 1
           ) -> None:
    """Synthetic 3D scans of cartridge cases, each fired by the synthetic firearm of that seed
    (firings numbered from ``first``): the worker extracts their features once it runs, and a
    search then finds the ones of one firearm."""
    from ballistics.comparisons.scans import upload_scan
    from ballistics.imaging import synthetic, write_x3p

    with acting_as(tech.id, lab.id, "cli:seed-demo"):
        for n, (item, seed) in enumerate(zip(cartridges, firearms, strict=True)):
            data = write_x3p(synthetic.fire(synthetic.make_firearm(seed), first + n))
            upload_scan(tech, item, data=data, filename=f"marker-{first + n}.x3p",
                        calibre="9mm Luger")


def _casework(lab: Lab, users: dict, cartridges: list) -> None:
    """An examination in progress under FA-04 on the calibrated microscope, so the dashboard
    has an examination to judge."""
    from sop.models import Equipment
    from sop.services import examinations
    from sop.services.library import effective_versions

    examiner = users["examiner"]
    version = effective_versions(lab.id)["FA-04"]
    microscope = db.session.scalar(select(Equipment).where(Equipment.lab_id == lab.id,
                                                           Equipment.code == "MIC-01"))
    with acting_as(examiner.id, lab.id, "cli:seed-demo"):
        examinations.start(examiner, sop_version_id=version.id,
                           item_ids=[c.id for c in cartridges[:2]],
                           equipment_ids=[microscope.id])


def _today() -> date:
    from ballistics.core import timeutil

    return timeutil.utcnow().date()


@click.command("seed-demo")
@click.option("--lab", "only", type=click.Choice(sorted(LABS)),
              help="Only this lab (the networked demo seeds each node, and the hub, alone).")
def demo_cli(only: str | None) -> None:
    """Create the demo labs with users, evidence, quality records and scans (idempotent); print
    every login."""
    for code, username, password, roles in seed_demo(only):
        click.echo(f"  {code:8s} {username:16s} {password}   ({roles})")
