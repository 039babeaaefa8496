"""``flask --app wsgi sop ...``: load the shipped SOP library, re-evaluate compliance."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ballistics.auth.models import Lab, User
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.extensions import db

cli = AppGroup("sop", help="SOP compliance and quality management.")


def _labs(code: str | None) -> list[Lab]:
    stmt = select(Lab).order_by(Lab.code)
    if code:
        stmt = stmt.where(Lab.code == code)
    labs = db.session.execute(stmt).scalars().all()
    if code and not labs:
        raise click.ClickException(f"no lab {code}")
    return labs


@cli.command("load-library")
@click.option("--lab", "lab_code", help="Only this lab (default: every lab).")
@click.option("--approve-as", "approver_name",
              help="A lab manager's username: approve the new versions and put them in force.")
def load_library_command(lab_code: str | None, approver_name: str | None) -> None:
    """Load the shipped SOP library into each lab (idempotent)."""
    from sop.services.library import load_library

    for lab in _labs(lab_code):
        approver = None
        if approver_name:
            approver = db.session.scalar(select(User).where(User.username == approver_name,
                                                            User.lab_id == lab.id))
            if approver is None or not approver.has_role(Role.LAB_MANAGER):
                raise click.ClickException(f"{approver_name} is not a lab manager of {lab.code}")
        with acting_as(approver.id if approver else None, lab.id, "cli:sop-load-library"):
            report = load_library(lab, approver)
        db.session.commit()
        click.echo(f"{lab.code}: {len(report.created)} created, {len(report.new_versions)} new "
                   f"versions, {len(report.unchanged)} unchanged")


@cli.command("evaluate")
@click.option("--lab", "lab_code", help="Only this lab (default: every lab).")
def evaluate_command(lab_code: str | None) -> None:
    """Re-judge every examination and refresh the stored findings."""
    from sop.services.compliance.engine import refresh_findings

    for lab in _labs(lab_code):
        with acting_as(None, lab.id, "cli:sop-evaluate"):
            summary = refresh_findings(lab.id)
        db.session.commit()
        click.echo(f"{lab.code}: {summary.examinations} examinations, "
                   f"{summary.findings} findings")
