"""The proof that a physical exhibit's release is in the sender's custody ledger, as it travels
to the receiving lab, and its check on the receiver's side. Pure: no app, no database (a
failed check says why in English and as its wording, :mod:`ballistics.core.wording`, plain
data a page says again in the reader's language).

The sender's node builds it when it delivers the transfer: the release event's hashed fields,
its position (leaf index) in the sender's log, an RFC 9162 inclusion proof and a checkpoint
signed with the sender's ledger key (cosigned by the witnesses that answered, the hub among
them). The hub adds the sender's ledger verifier key as registered there. The receiver checks,
without trusting the sender's database or the hub's relay:

1. the fields hash to the event's hash (``chain_hash(prev_hash, fields)``);
2. the event is a release of this transfer to this receiver (its details name both);
3. the leaf ``leafdata(custody_event, lab, event id, hash)`` is at ``leaf_index`` in the tree
   whose root the checkpoint states;
4. the checkpoint is signed by the sender's ledger key (and which witnesses cosigned it).

A receipt event then records the release's hash, leaf index and checkpoint (size and root):
anyone holding both ledgers can check the link from either side.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ballistics.core.hashing import chain_hash
from ballistics.core.wording import Wording, english, wording
from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.leafdata import leaf_hash

FORMAT = "ballistics-exhibit-release/v1"
RELEASED = "released"
RECEIVED = "received"


@dataclass(frozen=True)
class ReleaseCheck:
    ok: bool
    #: why it failed, in English (what the hub answers and the API gives)
    reason: str = ""
    checkpoint_size: int | None = None
    checkpoint_root: str = ""
    #: names of the witnesses whose cosignature verified
    witnessed: list[str] = field(default_factory=list)
    #: why it failed, as its wording (said in the reader's language on pages)
    why: Wording | None = None


def _failed(why: Wording) -> ReleaseCheck:
    return ReleaseCheck(False, english(why), why=why)


def build(*, lab_id: int, event_id: int, fields: Mapping, prev_hash: str, record_hash: str,
          leaf_index: int, checkpoint: str, inclusion_proof: Iterable[bytes]) -> dict:
    """The proof document (JSON-ready) for one release event."""
    return {"format": FORMAT, "lab_id": lab_id,
            "event": {"id": event_id, "fields": dict(fields), "prev_hash": prev_hash,
                      "hash": record_hash},
            "leaf_index": leaf_index, "checkpoint": checkpoint,
            "inclusion_proof": [base64.b64encode(h).decode() for h in inclusion_proof]}


def verify(proof: Mapping, *, transfer_id: str, receiver: str, log_vkeys: Iterable[str],
           cosigners: Iterable[notes.Verifier] = ()) -> ReleaseCheck:
    """Check a release proof as the receiving lab; never raises on bad input."""
    return _checked(proof, RELEASED, {"transfer_id": transfer_id, "partner_lab": receiver},
                    list(log_vkeys), list(cosigners),
                    {"transfer": transfer_id, "receiver": receiver})


def verify_receipt(proof: Mapping, *, transfer_id: str, sender: str, release_hash: str,
                   log_vkeys: Iterable[str], cosigners: Iterable[notes.Verifier] = ()
                   ) -> ReleaseCheck:
    """Check, as the sending lab, the proof that the partner's receipt event is in the
    partner's ledger and answers our release (same proof format, a ``received`` event)."""
    return _checked(proof, RECEIVED, {"transfer_id": transfer_id, "sender_lab": sender,
                                      "sender_release_hash": release_hash},
                    list(log_vkeys), list(cosigners),
                    {"transfer": transfer_id, "release": release_hash[:12]})


def _checked(proof: Mapping, kind: str, expect: dict, log_vkeys: list[str],
             cosigners: list[notes.Verifier], named: dict) -> ReleaseCheck:
    try:
        return _verify(proof, kind, expect, log_vkeys, cosigners, named)
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        # ProofError, NoteError and CheckpointError are ValueErrors: each says what failed
        # (in English: the ledger's own words, kept as they are).
        return _failed(wording("the proof does not hold (%(error)s)",
                               error=f"{type(exc).__name__}: {exc}"))


def _verify(proof: Mapping, kind: str, expect: dict, log_vkeys: list[str],
            cosigners: list[notes.Verifier], named: dict) -> ReleaseCheck:
    if proof.get("format") != FORMAT:
        return _failed(wording("not a %(format)s proof", format=FORMAT))
    event, lab_id = proof["event"], int(proof["lab_id"])
    fields = event["fields"]
    if chain_hash(event["prev_hash"], fields) != event["hash"]:
        return _failed(wording("the release event's fields do not hash to its hash")
                       if kind == RELEASED
                       else wording("the receipt event's fields do not hash to its hash"))
    details = fields.get("details") or {}
    if (fields.get("kind") != kind or fields.get("lab_id") != lab_id
            or any(details.get(k) != v for k, v in expect.items())):
        return _failed(
            wording("the event is not lab %(lab)s's release of transfer %(transfer)s to lab "
                    "%(receiver)s", lab=lab_id, **named) if kind == RELEASED
            else wording("the event is not lab %(lab)s's receipt of transfer %(transfer)s "
                         "answering our release %(release)s", lab=lab_id, **named))
    if not log_vkeys:
        return _failed(wording("the sender's ledger key is not known (the hub has none "
                               "registered), so its checkpoint cannot be checked"))
    opened = checkpoints.open_checkpoint(
        proof["checkpoint"], [notes.parse_verifier_key(k) for k in log_vkeys], cosigners)
    cp = opened.checkpoint
    leaf = leaf_hash("custody_event", lab_id, int(event["id"]), event["hash"])
    path = [base64.b64decode(h, validate=True) for h in proof["inclusion_proof"]]
    merkle.verify_inclusion(leaf, int(proof["leaf_index"]), cp.size, path, cp.root_hash)
    return ReleaseCheck(True, "", cp.size, base64.b64encode(cp.root_hash).decode(),
                        sorted({name for name, _ in opened.cosignatures()}))
