"""``flask --app wsgi comparisons ...``: maintenance of feature sets."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ballistics import imaging
from ballistics.auth.models import Lab
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus
from ballistics.comparisons.scans import mark
from ballistics.core.context import acting_as
from ballistics.core.wording import wording
from ballistics.extensions import db
from ballistics.outbox.services import enqueue


def stale_scans(lab_id: int | None = None) -> list[Scan]:
    """Scans without features for the current algorithm version."""
    current = select(FeatureSet.sha256).where(
        FeatureSet.algorithm_version == imaging.ALGORITHM_VERSION)
    stmt = select(Scan).where(Scan.sha256.not_in(current)).order_by(Scan.id)
    if lab_id is not None:
        stmt = stmt.where(Scan.lab_id == lab_id)
    return list(db.session.scalars(stmt))


cli = AppGroup("comparisons", help="Scans and feature sets.")


@cli.command("reextract")
@click.option("--lab", "lab_code", default=None, help="only this lab's scans")
@click.option("--dry-run", is_flag=True)
def reextract(lab_code: str | None, dry_run: bool) -> None:
    """Queue feature extraction for every scan lacking features of the current version."""
    lab_id = None
    if lab_code:
        lab = db.session.scalar(select(Lab).where(Lab.code == lab_code))
        if lab is None:
            raise click.ClickException(f"no lab {lab_code}")
        lab_id = lab.id
    scans = stale_scans(lab_id)
    click.echo(f"{len(scans)} scan(s) need features for {imaging.ALGORITHM_VERSION}")
    if dry_run:
        return
    with acting_as(None, lab_id, "cli:comparisons-reextract"):
        for scan in scans:
            mark(scan, ScanStatus.QUEUED, wording("Queued again for re-extraction."))
            enqueue("comparisons.extract_features", scan.id)
        db.session.commit()
    click.echo("queued")


@cli.command("reindex")
@click.option("--version", default=None, help="algorithm version (default: the current one)")
def reindex(version: str | None) -> None:
    """Rebuild the signature index the workers search from the database."""
    from ballistics.comparisons import signature_index

    rows = signature_index.rebuild(version)
    click.echo(f"{rows} signature(s) in {signature_index.folder(version)}")
    if current_app.config["APP_ROLE"] == "hub":
        # The partner searches' index is the network's (shared records, not scans).
        click.echo("this is the hub: rebuild the partner searches' index with "
                   "`flask --app wsgi network reindex`")


@cli.command("index-status")
@click.option("--version", default=None, help="algorithm version (default: the current one)")
def index_status(version: str | None) -> None:
    """Rows in the signature index against done scans with features in the database."""
    from ballistics.comparisons import signature_index

    found = signature_index.segments(version)
    click.echo(f"{signature_index.folder(version)}: {len(found)} segment(s), "
               f"{sum(len(s) for s in found)} row(s); database: "
               f"{signature_index.database_count(version)} scan(s) with features")
