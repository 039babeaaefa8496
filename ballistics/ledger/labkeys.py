"""Each lab's log signing keys: one keyring file per lab in ``LEDGER_KEY_DIR`` (outside the
database; see ``ballistics.ledger.keys`` for the file, its permissions and rotation)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import current_app

from ballistics.ledger.keys import Keyring, PublicKey

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def origin_for(lab_code: str) -> str:
    """``<LEDGER_HOST>/ledger/<lab code>``: the log's origin line and its key's name."""
    return f"{current_app.config['LEDGER_HOST']}/ledger/{lab_code}"


def key_file(lab_code: str) -> Path:
    if not _SAFE.fullmatch(lab_code):
        raise ValueError(f"lab code {lab_code!r} cannot name a key file")
    return Path(current_app.config["LEDGER_KEY_DIR"]) / f"{lab_code}.json"


def keyring(lab_code: str, origin: str) -> Keyring:
    """The lab's keyring, made with a fresh key on first use."""
    return Keyring.open(key_file(lab_code), origin)


def public_keys(lab_code: str, origin: str) -> list[PublicKey]:
    return keyring(lab_code, origin).public_keys()
