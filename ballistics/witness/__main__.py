"""``python -m ballistics.witness``: make the key, manage the allowlist, serve.

    python -m ballistics.witness init-key --key FILE --name witness.example/w1
    python -m ballistics.witness add-log  --db URL ORIGIN VKEY
    python -m ballistics.witness serve    --db URL --key FILE --port 8400

``--db`` and ``--key`` default to WITNESS_DATABASE_URL / WITNESS_KEY_FILE, then to files under
``$WITNESS_HOME`` (``./instance/witness``).
"""

from __future__ import annotations

import base64

import click

from ballistics.ledger import notes
from ballistics.witness import store
from ballistics.witness.app import create_witness_app, settings
from ballistics.witness.service import Witness


def _witness(db: str | None, key: str | None) -> Witness:
    cfg = settings({"WITNESS_DATABASE_URL": db, "WITNESS_KEY_FILE": key})
    return Witness(store.open_database(cfg["WITNESS_DATABASE_URL"]),
                   notes.CosignatureSigner(store.load_key(cfg["WITNESS_KEY_FILE"])))


def _allowlist(db: str | None) -> Witness:
    """The allowlist needs the database only, not the private key."""
    cfg = settings({"WITNESS_DATABASE_URL": db})
    placeholder = notes.CosignatureSigner(notes.Ed25519Signer("allowlist", bytes(32)))
    return Witness(store.open_database(cfg["WITNESS_DATABASE_URL"]), placeholder)


@click.group()
def cli() -> None:
    """A C2SP tlog-witness with its own database."""


@cli.command("init-key")
@click.option("--key", "key_file", help="Private key file to create (mode 0600).")
@click.option("--name", required=True, help="The witness name, e.g. witness.example/w1.")
def init_key(key_file: str | None, name: str) -> None:
    """Create the witness key (kept if it exists) and print its cosignature verifier key."""
    path = settings({"WITNESS_KEY_FILE": key_file})["WITNESS_KEY_FILE"]
    signer = store.create_key(path, name)
    if signer.name != name:
        raise click.ClickException(f"{path} already holds the key of {signer.name!r}")
    click.echo(notes.CosignatureSigner(signer).verifier().vkey())


@cli.command("show-key")
@click.option("--key", "key_file")
def show_key(key_file: str | None) -> None:
    """Print the cosignature verifier key (type 0x04) that clients configure."""
    path = settings({"WITNESS_KEY_FILE": key_file})["WITNESS_KEY_FILE"]
    click.echo(notes.CosignatureSigner(store.load_key(path)).verifier().vkey())


@cli.command("add-log")
@click.option("--db")
@click.argument("origin")
@click.argument("vkey")
def add_log(db: str | None, origin: str, vkey: str) -> None:
    """Trust VKEY (the log's note verifier key) for checkpoints of ORIGIN."""
    try:
        _allowlist(db).add_log(origin, vkey)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"trusting {vkey} for {origin}")


@cli.command("remove-key")
@click.option("--db")
@click.argument("origin")
@click.argument("vkey")
def remove_key(db: str | None, origin: str, vkey: str) -> None:
    """Stop trusting VKEY for ORIGIN (its cosigned history is kept)."""
    if not _allowlist(db).remove_key(origin, vkey):
        raise click.ClickException(f"{vkey} is not trusted for {origin}")
    click.echo(f"no longer trusting {vkey} for {origin}")


@cli.command("list-logs")
@click.option("--db")
def list_logs(db: str | None) -> None:
    """Each log: origin, latest cosigned size and root hash, trusted keys."""
    for log in _allowlist(db).logs():
        root = base64.b64encode(log.root_hash).decode() if log.root_hash else "-"
        click.echo(f"{log.origin}\tsize {log.size}\troot {root}")
        for vkey in log.vkeys:
            click.echo(f"\t{vkey}")


@cli.command()
@click.option("--db")
@click.option("--key", "key_file")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8400, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(db: str | None, key_file: str | None, host: str, port: int, workers: int) -> None:
    """Serve add-checkpoint and the monitoring endpoint with gunicorn."""
    from gunicorn.app.base import BaseApplication

    app = create_witness_app({"WITNESS_DATABASE_URL": db, "WITNESS_KEY_FILE": key_file})

    class Server(BaseApplication):
        def load_config(self) -> None:
            for name, value in {"bind": f"{host}:{port}", "workers": workers,
                                "accesslog": "-", "graceful_timeout": 5}.items():
                self.cfg.set(name, value)

        def load(self):
            return app

    click.echo(f"witness {app.extensions['witness'].vkey()} on http://{host}:{port}/")
    Server().run()


if __name__ == "__main__":
    cli()
