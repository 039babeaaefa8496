"""The hub's log: at the hub, the network records (audit entries of no lab, ``chain_key`` 0:
members and their keys, shared records, partner searches, leads, exhibit exchanges) are sealed
into the log of the hub's staff lab, beside that lab's own entries, and so are checkpointed,
signed with that lab's key (``LEDGER_KEY_DIR``) and cosigned by the witnesses as any lab's log.

Which lab: ``HUB_LEDGER_LAB`` (a lab code), else the hub's first lab (the staff lab that
``flask accounts create-lab`` or ``seed-demo --lab HUB`` made; ids never change, so the choice
does not move when more labs are made). A lab node seals no network record: the few entries of no
lab it holds stay in no log, as before.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ballistics.auth.models import Lab
from ballistics.extensions import db

#: the chain of the audit entries of no lab (``ballistics.audit.services._chain_key``)
NETWORK_CHAIN = 0

#: (database URL, HUB_LEDGER_LAB) -> the lab's id, once found (a lab's id never changes)
_found: dict[tuple[str, str], int] = {}


def hub_ledger_lab() -> int | None:
    """The id of the lab whose log seals the network records; None at a lab node, at a hub with
    no lab yet, or when ``HUB_LEDGER_LAB`` names no lab (the audit page then says the network
    records are not sealed)."""
    config = current_app.config
    if config["APP_ROLE"] != "hub":
        return None
    code = config["HUB_LEDGER_LAB"]
    key = (str(db.engine.url), code)
    if key in _found:
        return _found[key]
    # a connection of its own, not the caller's session: the sealer asks before its lock
    with db.engine.connect() as conn:
        query = (select(Lab.id).where(Lab.code == code) if code
                 else select(Lab.id).order_by(Lab.id).limit(1))
        lab_id = conn.scalar(query)
    if lab_id is not None:
        _found[key] = lab_id
    return lab_id


def chains_of(lab_id: int) -> tuple[int, ...]:
    """The audit chains a lab's log seals: its own, and at the hub the network's."""
    return (lab_id, NETWORK_CHAIN) if lab_id == hub_ledger_lab() else (lab_id,)
