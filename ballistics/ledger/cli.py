"""``flask --app wsgi ledger ...``: seal, checkpoint, verify, export, keys, and the court
verifier.

    flask ledger status                       the log, its checkpoints, witnesses and alarms
    flask ledger seal [--watch]               seal what waits (--watch: keep sealing)
    flask ledger checkpoint                   sign a checkpoint now and send it to the witnesses
    flask ledger verify                       recompute the log against the witnessed checkpoints
    flask ledger export-checkpoint -o FILE    the latest witnessed checkpoint for an outside party
    flask ledger public-keys                  the lab's public key document (for courts, witnesses)
    flask ledger vkey [--all]                 ORIGIN VKEY, as a witness's add-log takes them
    flask ledger rotate-key                   start a new signing key (the old one stays public)
    flask ledger verify-report FILE --lab-keys KEYS   check a court proof file offline

``--lab CODE`` picks the lab when the installation holds more than one.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ballistics.auth.models import Lab
from ballistics.extensions import db
from ballistics.ledger import checkpointing, court, export, hublog, labkeys, notes, witnesses
from ballistics.ledger.keys import KeyringError, PublicKey, load_public_keys
from ballistics.ledger.models import LedgerLog, LedgerWitness
from ballistics.ledger.sealer import ensure_log, seal_all
from ballistics.ledger.verify import verify_lab
from ballistics.ledger.worker import SealerLoop

cli = AppGroup("ledger", help="The custody ledger: sealing, checkpoints, witnesses, proofs.")
lab_option = click.option("--lab", "lab_code", help="Lab code (default: the only lab; at the "
                          "hub, HUB_LEDGER_LAB, whose log also seals the network records).")


def _lab(code: str | None) -> Lab:
    if code:
        lab = db.session.scalar(select(Lab).where(Lab.code == code))
        if lab is None:
            raise click.ClickException(f"no lab {code}")
        return lab
    hub_lab = hublog.hub_ledger_lab()
    if hub_lab is not None:
        return db.session.get(Lab, hub_lab)
    labs = db.session.scalars(select(Lab).order_by(Lab.id).limit(2)).all()
    if len(labs) != 1:
        raise click.ClickException("several labs (or none): name one with --lab CODE")
    return labs[0]


def _origin(lab: Lab) -> str:
    ensure_log(lab.id)
    return db.session.get(LedgerLog, lab.id).origin


@cli.command("seal")
@lab_option
@click.option("--watch", is_flag=True, help="Keep sealing every lab (a sealer process).")
def seal_command(lab_code: str | None, watch: bool) -> None:
    """Seal the new custody events and audit entries."""
    if watch:
        stopping = threading.Event()
        interval = current_app.config["LEDGER_SEAL_SECONDS"] or 0.5
        click.echo(f"sealing every {interval} s; Ctrl-C stops")
        try:
            SealerLoop(current_app._get_current_object()).run(interval, stopping)
        except KeyboardInterrupt:
            stopping.set()
        return
    lab = _lab(lab_code)
    result = seal_all(lab.id)
    click.echo(f"{lab.code}: sealed {result.sealed}, log size {result.size}")
    for reason in result.refused:
        click.echo(f"refused: {reason}", err=True)


@cli.command("checkpoint")
@lab_option
def checkpoint_command(lab_code: str | None) -> None:
    """Seal, sign a checkpoint now and send it to the configured witnesses."""
    lab = _lab(lab_code)
    seal_all(lab.id)
    try:
        info = checkpointing.make_checkpoint(lab.id)
    except checkpointing.LogMismatch as exc:
        raise click.ClickException(f"not signed: {exc}") from exc
    for outcome in checkpointing.witness(lab.id, info, force=True):
        click.echo(f"witness {outcome.witness}: {'ok' if outcome.ok else 'FAILED'} "
                   f"{outcome.message}")
    click.echo(f"checkpoint {info.id}: size {info.size}")


@cli.command("status")
@lab_option
def status_command(lab_code: str | None) -> None:
    """The log's size, latest checkpoints, witnesses and alarms."""
    lab = _lab(lab_code)
    ensure_log(lab.id)
    ledger = db.session.get(LedgerLog, lab.id)
    updated = ledger.updated_at.strftime("%Y-%m-%d %H:%M:%S")
    click.echo(f"log {ledger.origin}: {ledger.size} entries, updated {updated} UTC")
    with db.session.no_autoflush:
        keys = checkpointing.lab_keys(db.session, lab.id)
        latest = checkpointing.latest(db.session, lab.id)
        witnessed = checkpointing.latest_witnessed(db.session, lab.id, keys)
    click.echo(f"latest checkpoint: {latest.size if latest else 'none'}; latest witnessed: "
               f"{witnessed.size if witnessed else 'none'}")
    for w in witnesses.configured():
        state = db.session.get(LedgerWitness, (lab.id, w.verifier.vkey()))
        line = (f"witness {w.verifier.name}: cosigned up to {state.size}"
                + (f", last error: {state.last_error}" if state.last_error else "")
                if state else f"witness {w.verifier.name}: not asked yet")
        click.echo(line)
        if state and state.alarm:
            click.echo(f"ALARM {state.alarm}")
    if ledger.alarm:
        click.echo(f"ALARM {ledger.alarm}")


@cli.command("verify")
@lab_option
@click.option("--offline", is_flag=True, help="Do not ask the witnesses for their latest.")
def verify_command(lab_code: str | None, offline: bool) -> None:
    """Recompute the log from the custody events and audit entries and check it against every
    checkpoint; exits 1 and names the first doubtful entry if it does not verify."""
    lab = _lab(lab_code)
    result = verify_lab(lab.id, ask_witnesses=not offline)
    for line in result.lines:
        click.echo(f"  {line}")
    for problem in result.problems:
        click.echo(f"  PROBLEM {problem}")
    click.echo(result.summary())
    if not result.ok:
        raise SystemExit(1)


@cli.command("export-checkpoint")
@lab_option
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="File (default: stdout).")
def export_command(lab_code: str | None, out: str | None) -> None:
    """The latest witnessed checkpoint as a file an outside party keeps and checks later."""
    lab = _lab(lab_code)
    with db.session.no_autoflush:
        keys = checkpointing.lab_keys(db.session, lab.id)
        cp = checkpointing.latest_witnessed(db.session, lab.id, keys)
    if cp is None:
        raise click.ClickException("no witnessed checkpoint yet (flask ledger checkpoint)")
    doc = export.export_checkpoint(cp.signed_note(), keys,
                                   [w.verifier.vkey() for w in witnesses.configured()],
                                   int(time.time()))
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if out:
        Path(out).write_text(text)
        click.echo(f"checkpoint of size {doc['size']} written to {out}")
    else:
        click.echo(text, nl=False)


@cli.command("public-keys")
@lab_option
def public_keys_command(lab_code: str | None) -> None:
    """The lab's public key document (JSON), to publish and give to courts and witnesses."""
    lab = _lab(lab_code)
    keyring = labkeys.keyring(lab.code, _origin(lab))
    click.echo(json.dumps(keyring.public_document(), indent=1, sort_keys=True))


@cli.command("vkey")
@lab_option
@click.option("--all", "every_lab", is_flag=True, help="One line per lab.")
def vkey_command(lab_code: str | None, every_lab: bool) -> None:
    """The log's origin and active verifier key, as a witness's add-log takes them."""
    labs = (db.session.scalars(select(Lab).order_by(Lab.id)).all() if every_lab
            else [_lab(lab_code)])
    for lab in labs:
        origin = _origin(lab)
        click.echo(f"{origin} {labkeys.keyring(lab.code, origin).signer().verifier().vkey()}")


@cli.command("rotate-key")
@lab_option
def rotate_command(lab_code: str | None) -> None:
    """Start a new signing key; the old key's public half stays, with its period."""
    lab = _lab(lab_code)
    signer = labkeys.keyring(lab.code, _origin(lab)).rotate()
    click.echo(signer.verifier().vkey())
    click.echo("add this key to every witness (python -m ballistics.witness add-log ORIGIN "
               "VKEY) and republish the public key document", err=True)


@cli.command("verify-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--lab-keys", "lab_keys_file", type=click.Path(exists=True, dir_okay=False),
              help="The lab's public key document (flask ledger public-keys).")
@click.option("--lab-key", "lab_vkeys", multiple=True,
              help="A lab verifier key (NAME+ID+KEY); repeatable.")
@click.option("--witness-key", "witness_vkeys", multiple=True,
              help="A witness cosignature key to trust; repeatable (default: as the file "
                   "lists them).")
@click.option("--allow-unwitnessed", is_flag=True,
              help="Accept a checkpoint no witness cosigned (says so).")
@click.option("--trust-embedded-keys", is_flag=True,
              help="Use the lab keys inside the file: shows only that it is self-consistent.")
def verify_report_command(file: str, lab_keys_file: str | None, lab_vkeys: tuple[str, ...],
                          witness_vkeys: tuple[str, ...], allow_unwitnessed: bool,
                          trust_embedded_keys: bool) -> None:
    """Check a court proof file offline, with the lab's public key only. Prints one line per
    check; exits 1 at the first that fails."""
    try:
        keys = _pinned_keys(lab_keys_file, lab_vkeys)
    except (KeyringError, notes.NoteError, OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the lab's keys: {exc}") from exc
    if keys is None and not trust_embedded_keys:
        raise click.ClickException("pin the lab's public key: --lab-keys FILE (the lab's "
                                   "published key document) or --lab-key VKEY")
    data = Path(file).read_bytes()
    check = court.verify_document(data, keys, list(witness_vkeys) or None,
                                  require_witness=not allow_unwitnessed)
    click.echo(check.text(), nl=False)
    if not check.ok:
        raise SystemExit(1)


def _pinned_keys(path: str | None, vkeys: tuple[str, ...]) -> list[PublicKey] | None:
    keys = load_public_keys(json.loads(Path(path).read_text())) if path else []
    for vkey in vkeys:
        verifier = notes.parse_verifier_key(vkey)
        keys.append(PublicKey(verifier, 0))  # a bare key: no validity period known
    return keys or None
