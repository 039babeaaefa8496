"""``flask --app wsgi network ...``: a node's key and deliveries; the hub's members and keys.

Registration: on the lab node ``network show-key`` prints the lab's public key; the hub
administrator runs the ``add-member`` line it prints on the hub. Rotation: ``rotate-key`` on the
node, then ``add-key`` on the hub (the old key is retired at once). Every hub change is audited.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ballistics.core.context import acting_as
from ballistics.core.errors import AppError
from ballistics.extensions import db
from ballistics.network import client, hub, node, signing

cli = AppGroup("network", help="The regional network: keys, deliveries, hub members.")


def _commit_or_fail(action) -> object:
    try:
        result = action()
    except AppError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    return result


# -- lab node --------------------------------------------------------------------------------


@cli.command("show-key")
def show_key() -> None:
    """This node's public key, and the line the hub administrator runs to register it."""
    lab = node.node_lab()
    key_id, _, public = client.identity(lab.code)
    click.echo(f"lab {lab.code}, key {key_id}")
    click.echo(f"public key: {signing.b64(public)}")
    click.echo(f'on the hub: flask --app wsgi network add-member {lab.code} "{lab.name}" '
               f"{signing.b64(public)}")


@cli.command("rotate-key")
def rotate_key() -> None:
    """Start a new network key (then register it on the hub with add-key)."""
    lab = node.node_lab()
    client.keyring(lab.code).rotate()
    _, _, public = client.identity(lab.code)
    click.echo(f"on the hub: flask --app wsgi network add-key {lab.code} {signing.b64(public)}")


@cli.command("sync")
def sync() -> None:
    """Bring what the hub holds in line with the sharing policy."""
    lab = node.node_lab()
    with acting_as(None, lab.id, "cli:network-sync"):
        counts = _commit_or_fail(lambda: node.sync_shares(lab.id))
    click.echo(f"{counts['published']} to publish, {counts['withdrawn']} to withdraw")


@cli.command("deliver")
def deliver() -> None:
    """Send what waits for the hub now, in order."""
    sent, failed = node.deliver()
    click.echo(f"delivered {sent}, failed {failed}")


@cli.command("pull")
def pull() -> None:
    """Read this lab's events from the hub (leads, answers, who searched our data)."""
    lab = node.node_lab()
    with acting_as(None, lab.id, "cli:network-pull"):
        count = _commit_or_fail(node.pull)
    click.echo(f"{count} event(s)")


# -- hub -------------------------------------------------------------------------------------


def _hub_only() -> None:
    if current_app.config["APP_ROLE"] != "hub":
        raise click.ClickException("This is a lab node; run member commands on the hub "
                                   "(APP_ROLE=hub).")


def _key(text: str) -> bytes:
    try:
        return signing.unb64(text)
    except ValueError as exc:
        raise click.ClickException("The public key must be base64 text (from show-key).") from exc


@cli.command("add-member")
@click.argument("code")
@click.argument("name")
@click.argument("public_key")
@click.option("--country", default="")
def add_member(code: str, name: str, public_key: str, country: str) -> None:
    """Register a lab and its public key at the hub."""
    _hub_only()
    with acting_as(None, None, "cli:network-add-member"):
        member = _commit_or_fail(lambda: hub.add_member(code, name, _key(public_key), country))
    click.echo(f"member {member.code}, key {member.keys[-1].key_id}")


@cli.command("add-key")
@click.argument("code")
@click.argument("public_key")
def add_key(code: str, public_key: str) -> None:
    """Register a member's new key (after rotate-key on its node); older keys are retired."""
    _hub_only()
    with acting_as(None, None, "cli:network-add-key"):
        key = _commit_or_fail(lambda: hub.add_key(hub.member(code), _key(public_key)))
    click.echo(f"key {key.key_id} active; older keys retired")


@cli.command("revoke")
@click.argument("code")
@click.option("--reason", required=True)
def revoke(code: str, reason: str) -> None:
    """Refuse every request of a member from now on (and witness no more of its ledger)."""
    _hub_only()
    from ballistics.network import hub_witness

    with acting_as(None, None, "cli:network-revoke"):
        _commit_or_fail(lambda: hub.revoke(hub.member(code), reason))
    removed = hub_witness.forget_member(code)
    click.echo(f"{code} revoked; {removed} ledger key(s) no longer witnessed")


@cli.command("add-ledger-key")
@click.argument("code")
@click.argument("vkey")
def add_ledger_key(code: str, vkey: str) -> None:
    """Witness a member lab's custody ledger: its ledger verifier key (``flask ledger vkey`` on
    the lab's node); checkpoints of that log are countersigned at /hub/witness."""
    _hub_only()
    from ballistics.network import hub_witness

    hub.member(code)
    try:
        origin = hub_witness.add_ledger_key(code, vkey)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"witnessing {origin}; the lab sets LEDGER_WITNESSES=\"<hub URL>/hub/witness "
               f"{hub_witness.witness().vkey()}\"")


@cli.command("witness-key")
def witness_key() -> None:
    """The hub witness's cosignature verifier key (for the labs' LEDGER_WITNESSES)."""
    _hub_only()
    from ballistics.network import hub_witness

    click.echo(hub_witness.witness().vkey())


@cli.command("reinstate")
@click.argument("code")
def reinstate(code: str) -> None:
    _hub_only()
    with acting_as(None, None, "cli:network-reinstate"):
        _commit_or_fail(lambda: hub.reinstate(hub.member(code)))
    click.echo(f"{code} active")


@cli.command("reindex")
@click.option("--version", default=None, help="algorithm version (default: the current one)")
def reindex(version: str | None) -> None:
    """Rebuild the signature index of the partner searches from the shared records (after
    restoring the hub's database, or once on an existing hub)."""
    _hub_only()
    from ballistics.comparisons import signature_index
    from ballistics.network import hub_index

    rows = hub_index.rebuild(version)
    click.echo(f"{rows} signature(s) in {signature_index.folder(version, hub_index.NAMESPACE)}")


@cli.command("index-status")
@click.option("--version", default=None, help="algorithm version (default: the current one)")
def index_status(version: str | None) -> None:
    """Rows in the hub's signature index against current shared records in the database."""
    _hub_only()
    from ballistics.comparisons import signature_index
    from ballistics.network import hub_index

    found = signature_index.segments(version, hub_index.NAMESPACE)
    click.echo(f"{signature_index.folder(version, hub_index.NAMESPACE)}: {len(found)} "
               f"segment(s), {sum(len(s) for s in found)} row(s); database: "
               f"{hub_index.database_count(version)} current shared record(s)")
