"""The hub as every member lab's ledger witness: the C2SP tlog-witness service of
:mod:`ballistics.witness`, mounted at ``/hub/witness``. It countersigns each lab's custody-ledger
checkpoints and refuses one that is not an extension of what it already witnessed (a rewritten
history). Its state lives in its own database (``instance/witness`` unless ``WITNESS_*`` settings
say otherwise), as a witness should: the hub's operators, not the labs, hold it.

A lab's log is trusted when the hub administrator registers the lab's ledger verifier key
(``flask --app wsgi network add-ledger-key CODE VKEY``, from the lab's ``flask ledger vkey``);
revoking a member removes its keys, so the hub witnesses nothing more of it.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from ballistics.extensions import csrf
from ballistics.ledger import notes
from ballistics.witness.app import build_witness, make_blueprint
from ballistics.witness.service import Witness

PREFIX = "/hub/witness"


def mount(app: Flask) -> Witness:
    cfg = app.config
    witness = build_witness({
        "WITNESS_HOME": cfg.get("WITNESS_HOME") or str(Path(cfg["INSTANCE_PATH"]) / "witness"),
        "WITNESS_DATABASE_URL": cfg.get("WITNESS_DATABASE_URL"),
        "WITNESS_KEY_FILE": cfg.get("WITNESS_KEY_FILE"),
        "WITNESS_NAME": cfg.get("WITNESS_NAME") or cfg.get("HUB_NAME", "ballistics-hub") +
        "/witness"})
    bp = make_blueprint(witness, name="hub_witness")
    csrf.exempt(bp)  # tlog-witness requests carry a signed checkpoint, never a cookie
    app.register_blueprint(bp, url_prefix=PREFIX)
    app.extensions["hub_witness"] = witness
    return witness


def witness() -> Witness:
    return current_app.extensions["hub_witness"]


def add_ledger_key(code: str, vkey: str) -> str:
    """Trust a member's ledger key for its log (the key's name is the log's origin)."""
    origin = notes.parse_verifier_key(vkey).name
    if f"/ledger/{code}" not in origin:
        raise ValueError(f"{origin!r} is not lab {code}'s ledger (expected .../ledger/{code})")
    witness().add_log(origin, vkey)
    return origin


def forget_member(code: str) -> int:
    """Remove every ledger key of a member's log (revocation): nothing more is witnessed."""
    removed = 0
    for log in witness().logs():
        if log.origin.endswith(f"/ledger/{code}"):
            removed += sum(witness().remove_key(log.origin, k) for k in log.keys)
    return removed
