"""The witness's database and key: opened from a URL and a key file, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ballistics.ledger import keys, notes
from ballistics.witness.models import Base


def open_database(url: str) -> sessionmaker[Session]:
    """Sessions on ``url`` (any SQLAlchemy URL; SQLite by default), tables created if missing.

    The witness schema is small and only grows by new tables, so ``create_all`` is its
    migration; a column change would need an Alembic environment of its own.
    """
    parsed = make_url(url)
    connect_args = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = 30  # wait for another worker's write instead of failing
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if parsed.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    Base.metadata.create_all(engine)
    engine.dispose()  # no pooled connection may cross a fork into gunicorn's workers
    return sessionmaker(engine, expire_on_commit=False)


def create_key(path: str | os.PathLike, name: str) -> notes.Ed25519Signer:
    """Make the witness's private key file (0600) unless it exists; return the key in it."""
    signer = notes.Ed25519Signer.generate(name)
    keys.create_private_file(path, signer.skey() + "\n")
    return load_key(path)


def load_key(path: str | os.PathLike) -> notes.Ed25519Signer:
    """The witness's Ed25519 key: a Go-style ``PRIVATE+KEY+...`` line in a 0600 file."""
    try:
        return notes.parse_signer_key(keys.read_private_file(path).strip())
    except (OSError, notes.NoteError) as exc:
        raise keys.KeyringError(f"cannot use the witness key {path}: {exc}") from exc
