"""``flask --app wsgi evidence ...``: the kept data of issued court reports.

    flask evidence report-data DIGEST [-o FILE]   the data a court report PDF printed, checked
                                                   against the SHA-256 in its footer
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ballistics.evidence.court_reports import sha256_hex
from ballistics.evidence.models import CourtReport, Item
from ballistics.extensions import db

cli = AppGroup("evidence", help="Evidence: the kept data of issued court reports.")


@cli.command("report-data")
@click.argument("digest")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the data to FILE (default: standard output).")
def report_data(digest: str, output: Path | None) -> None:
    """The data of the court report whose footer shows DIGEST, recomputed before it is given."""
    row = db.session.scalar(select(CourtReport).where(CourtReport.sha256 == digest.lower()))
    if row is None:
        raise click.ClickException(f"No court report with SHA-256 {digest} was issued here.")
    data = row.data.encode()
    if sha256_hex(data) != row.sha256:
        raise click.ClickException(f"The kept data of report {row.id} no longer has the digest "
                                   "it was issued with: it was altered.")
    item = db.session.get(Item, row.item_id)
    click.echo(f"Report of item {item.barcode}, issued {row.generated_at:%Y-%m-%d %H:%M:%S} UTC; "
               f"SHA-256 of the data recomputed: {row.sha256} (matches)", err=True)
    if output is None:
        click.echo(data.decode())
    else:
        output.write_bytes(data)
