"""``flask --app wsgi outbox ...``: see and relay pending work by hand."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from ballistics.extensions import db
from ballistics.outbox.models import OutboxMessage
from ballistics.outbox.services import relay

cli = AppGroup("outbox", help="Work waiting to leave the database (tasks for the workers).")


@cli.command("status")
def status_command() -> None:
    """How many messages wait, and the oldest one's error."""
    pending = db.session.scalar(select(func.count(OutboxMessage.id))
                                .where(OutboxMessage.sent_at.is_(None)))
    oldest = db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                                .order_by(OutboxMessage.id).limit(1)).first()
    click.echo(f"{pending} pending")
    if oldest is not None:
        click.echo(f"oldest: {oldest.id} {oldest.name} since {oldest.created_at:%Y-%m-%d %H:%M} "
                   f"UTC, {oldest.attempts} attempt(s) {oldest.last_error}")


@cli.command("relay")
@click.option("--watch", is_flag=True, help="Keep relaying every few seconds.")
def relay_command(watch: bool) -> None:
    """Send what is pending (the workers do this on their own every few seconds)."""
    while True:
        sent, failed = relay()
        click.echo(f"sent {sent}, failed {failed}")
        if not watch:
            return
        time.sleep(5)
