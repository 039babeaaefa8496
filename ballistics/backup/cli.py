"""``flask --app wsgi backup ...``: make, check and restore a backup (:mod:`.archive`).

    flask backup create DEST [--with-keys]   the database, the scans and a manifest
    flask backup verify DIR                  every file against the manifest's SHA-256
    flask backup restore DIR [--with-keys]   into this installation's (empty) database and
                                             scan folder, then the ledger against its witnesses
    flask backup due                         into BACKUP_DIR if one is due (as celery beat does;
                                             for cron)
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ballistics.backup import archive, services
from ballistics.extensions import db

cli = AppGroup("backup", help="Backups: make, verify, restore.")
_folder = click.Path(path_type=Path, file_okay=False)


def _refuse(exc: archive.BackupError) -> None:
    raise click.ClickException(str(exc)) from exc


@cli.command("create")
@click.argument("dest", type=_folder)
@click.option("--with-keys", is_flag=True,
              help="Also copy the ledger's signing keys and the network key (keep such a "
                   "backup as a secret).")
def create_command(dest: Path, with_keys: bool) -> None:
    """Back up the database and the scans into DEST (a new folder)."""
    try:
        manifest, row = services.make(dest, with_keys=with_keys)
    except archive.BackupError as exc:
        _refuse(exc)
    db.session.commit()
    click.echo(f"backup {dest}: {row.files} files, {row.size_bytes:,} bytes, schema "
               f"{manifest['schema_revision']}; register no. {row.id}")
    for log in manifest["ledger"]:
        click.echo(f"  {log['lab']}: ledger of {log['size']} entries")
    if not with_keys:
        click.echo("  keys not included: back up LEDGER_KEY_DIR separately (the ledger cannot "
                   "be verified or extended without its keyring)")
    click.echo(f"manifest SHA-256 {row.manifest_sha256} (it pins every file; the audit page "
               "shows it)")


@cli.command("verify")
@click.argument("folder", type=_folder)
def verify_command(folder: Path) -> None:
    """Check every file of a backup against its manifest."""
    try:
        checked, digest, row = services.check(folder)
    except archive.BackupError as exc:
        _refuse(exc)
    db.session.commit()
    if row is None:
        click.echo("(not in this installation's backup register)")
    for problem in checked.problems:
        click.echo(f"problem: {problem}", err=True)
    if not checked.ok:
        raise click.ClickException(f"{folder}: {len(checked.problems)} problem(s); do not "
                                   "restore it")
    click.echo(f"{folder}: {checked.files} files, {checked.bytes:,} bytes, as the manifest "
               f"says (manifest SHA-256 {digest})")


@cli.command("restore")
@click.argument("folder", type=_folder)
@click.option("--with-keys", is_flag=True, help="Also restore the keys the backup holds.")
def restore_command(folder: Path, with_keys: bool) -> None:
    """Restore FOLDER into this installation's empty database and scan folder."""
    try:
        services.require_known_revision(archive.read_manifest(folder.resolve()))
        manifest = archive.restore(folder, services.source(), with_keys=with_keys)
    except archive.BackupError as exc:
        _refuse(exc)
    click.echo(f"restored {folder} (made {manifest['created_at']}, schema "
               f"{manifest['schema_revision']}); next: flask db upgrade, flask comparisons "
               "reindex")
    failed = []
    for code, result in services.verify_ledgers():
        click.echo(f"{code}: {result.summary()}")
        for line in [*result.problems]:
            click.echo(f"  {line}")
        if not result.ok:
            failed.append(code)
    if failed:
        raise click.ClickException(
            f"the restored ledger of {', '.join(failed)} does not verify: entries the "
            "witnesses saw after this backup are not in it (see above); record the loss")


@cli.command("due")
def due_command() -> None:
    """Make a verified backup into BACKUP_DIR if one is due (BACKUP_EVERY_HOURS), as celery
    beat's backup.tick does; for a machine that runs cron instead of beat."""
    if not current_app.config["BACKUP_DIR"]:
        raise click.ClickException("BACKUP_DIR is not set: nowhere to put scheduled backups")
    try:
        row = services.scheduled()
    except archive.BackupError as exc:
        _refuse(exc)
    if row is None:
        latest = services.status().latest
        made = f"{latest.created_at:%Y-%m-%d %H:%M} UTC" if latest else None
        click.echo(f"no backup due (the latest was made {made})" if made
                   else "no backup due (another process is making one)")
        return
    state = "verified" if row.verified_ok else "DID NOT VERIFY: " + row.problems
    click.echo(f"backup {row.folder}: {row.files} files, {row.size_bytes:,} bytes, {state}")
    if not row.verified_ok:
        raise click.ClickException("the new backup does not verify")
