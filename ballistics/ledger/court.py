"""The court proof file of an item's chain of custody, and its offline verifier. Pure: no Flask,
no database; a court needs this module, the lab's public key and nothing else.

The file is canonical JSON (sorted keys, no insignificant whitespace, UTF-8, one final newline)::

    {"body": {...}, "format": "ballistics.ledger.custody-proof/v1",
     "signatures": ["— <lab key name> <base64 key ID || Ed25519 signature>"]}

The signatures are C2SP signed-note signature lines over the text ``canonical(body) + "\\n"``,
made with the lab's log key: any changed byte of the file breaks either the canonical form or
a signature. The body holds the item, every custody event with the fields its hash covers, the
event's position in the lab's log and its RFC 9162 inclusion proof, and the C2SP checkpoint
(signed by the lab, cosigned by witnesses) the proofs lead to. ``verify_document`` documents the
algorithm step by step (docs/ledger.md repeats it for readers without Python).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ballistics.core.hashing import GENESIS, chain_hash
from ballistics.ledger import checkpoints, merkle, notes
from ballistics.ledger.keys import KeyringError, PublicKey, load_public_keys
from ballistics.ledger.leafdata import LEAF_FORMAT, leaf_hash

FORMAT = "ballistics.ledger.custody-proof/v1"
LEAF_KIND = "custody_event"
#: the fields a custody event's hash covers (``CustodyEvent.HASHED_FIELDS`` + occurred_at)
EVENT_FIELDS = frozenset({
    "lab_id", "item_id", "seq", "kind", "from_user_id", "from_location_id", "from_agency",
    "to_user_id", "to_location_id", "to_agency", "actor_id", "witness_id", "reason", "details",
    "occurred_at"})
BODY_KEYS = {"generated_at": str, "generated_by": str, "lab": dict, "item": dict,
             "events": list, "names": dict, "checkpoint": (str, type(None)), "log_keys": dict,
             "witness_keys": list, "leaf_format": str}
LAB_KEYS = {"id": int, "code": str, "name": str}
ITEM_KEYS = {"id": int, "barcode": str, "kind": str, "case": str, "custody_seq": int,
             "custody_head": (str, type(None))}
EVENT_KEYS = {"id": int, "position": (int, type(None)), "fields": dict, "prev_hash": str,
              "hash": str, "inclusion_proof": list}
NAME_KEYS = {"users": dict, "locations": dict}


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def _signed_text(body: dict) -> str:
    return canonical_json(body).decode() + "\n"


def sign_document(body: dict, signer: notes.Signer) -> bytes:
    """The file's bytes: ``body`` signed by the lab key."""
    note = notes.sign_note(_signed_text(body), [signer])
    doc = {"format": FORMAT, "body": body,
           "signatures": [s.line().rstrip("\n") for s in note.signatures]}
    return canonical_json(doc) + b"\n"


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


class VerificationFailed(Exception):
    """One check failed; the message says which and why."""


@dataclass
class CourtCheck:
    """The outcome of ``verify_document``: one line per check, in order."""

    ok: bool = False
    lines: list[str] = field(default_factory=list)
    failure: str = ""
    #: (witness name, POSIX time) of the cosignatures that verified
    witnessed: list[tuple[str, int]] = field(default_factory=list)
    checkpoint_size: int | None = None
    events: int = 0
    warnings: list[str] = field(default_factory=list)

    def passed(self, line: str) -> None:
        self.lines.append(f"ok      {line}")

    def text(self) -> str:
        out = self.lines + [f"warning {w}" for w in self.warnings]
        out.append("VERIFIED" if self.ok else f"FAILED  {self.failure}")
        return "\n".join(out) + "\n"


def _shape(value: object, spec: dict, where: str) -> None:
    if not isinstance(value, dict):
        raise VerificationFailed(f"{where} is not an object")
    if set(value) != set(spec):
        extra, missing = set(value) - set(spec), set(spec) - set(value)
        raise VerificationFailed(f"{where} has unexpected fields {sorted(extra)} or lacks "
                                 f"{sorted(missing)}")
    for key, kind in spec.items():
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON true/false are Python bools, which are ints: never accept one for a number.
        if not isinstance(value[key], kinds) or (
                isinstance(value[key], bool) and bool not in kinds):
            raise VerificationFailed(f"{where}.{key} has the wrong type")


def _b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise VerificationFailed(f"{what} is not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise VerificationFailed(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise VerificationFailed(f"{what} is not canonical base64")
    return raw


def _posix(text: str, what: str) -> int:
    try:
        return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
                   .timestamp())
    except ValueError as exc:
        raise VerificationFailed(f"{what} is not a UTC time as YYYY-MM-DDTHH:MM:SSZ") from exc


def verify_document(data: bytes, lab_keys: Sequence[PublicKey] | None,
                    witness_keys: Sequence[str] | None = None, *,
                    require_witness: bool = True) -> CourtCheck:
    """Check a proof file; the first failed check stops it.

    ``lab_keys``: the lab's public keys obtained independently (its published key document);
    None uses the keys inside the file and says so (that only shows the file is
    self-consistent). ``witness_keys``: cosignature verifier keys to trust; None trusts the
    ones the lab lists in the file (covered by the lab's signature) and says so.
    """
    check = CourtCheck()
    try:
        _verify(data, lab_keys, witness_keys, require_witness, check)
    except VerificationFailed as exc:
        check.ok, check.failure = False, str(exc)
    else:
        check.ok = True
    return check


def _verify(data: bytes, lab_keys: Sequence[PublicKey] | None,
            witness_keys: Sequence[str] | None, require_witness: bool,
            check: CourtCheck) -> None:
    # 1. The bytes are the canonical JSON of what they parse to: nothing reformatted or added.
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise VerificationFailed(f"not a UTF-8 JSON document: {exc}") from exc
    try:
        canonical = canonical_json(doc) + b"\n"
    except ValueError as exc:
        raise VerificationFailed(f"not canonical JSON: {exc}") from exc
    if canonical != data:
        raise VerificationFailed("the file is not in its canonical form: it was changed or "
                                 "reformatted after it was made")
    _shape(doc, {"format": str, "body": dict, "signatures": list}, "the file")
    if doc["format"] != FORMAT:
        raise VerificationFailed(f"unknown format {doc['format']!r}")
    body = doc["body"]
    _shape(body, BODY_KEYS, "body")
    _shape(body["lab"], LAB_KEYS, "body.lab")
    _shape(body["item"], ITEM_KEYS, "body.item")
    _shape(body["names"], NAME_KEYS, "body.names")
    if body["leaf_format"] != LEAF_FORMAT:
        raise VerificationFailed(f"unknown leaf format {body['leaf_format']!r}")
    check.passed("canonical JSON in the expected format")

    # 2. The lab's keys: pinned by the caller, or (flagged) the ones the file carries.
    try:
        embedded = load_public_keys(body["log_keys"])
    except KeyringError as exc:
        raise VerificationFailed(f"body.log_keys: {exc}") from exc
    if lab_keys is None:
        lab_keys = embedded
        check.warnings.append("the lab's public key was taken from the file itself; pin the "
                              "key the lab publishes (--lab-keys) to rule out a forged file")
    if not lab_keys:
        raise VerificationFailed("no lab public key to check against")

    # 3. The lab's signature over the body, by a key in force when the file was made.
    generated = _posix(body["generated_at"], "body.generated_at")
    try:
        sigs = [notes.Signature.parse_line(line) for line in doc["signatures"]]
    except (TypeError, AttributeError, notes.NoteError) as exc:
        raise VerificationFailed(f"a signature line is malformed: {exc}") from exc
    if not sigs:
        raise VerificationFailed("the file is not signed")
    try:
        opened = notes.open_note(notes.Note(_signed_text(body), tuple(sigs)),
                                 [k.verifier for k in lab_keys])
    except notes.NoteError as exc:
        raise VerificationFailed(f"the lab's signature over the file does not verify: {exc}"
                                 ) from exc
    signing = [k for k in lab_keys for s, _ in opened.verified
               if (s.name, s.key_id) == (k.verifier.name, k.verifier.key_id)]
    if not any(k.valid_at(generated) for k in signing):
        raise VerificationFailed("the lab key that signed the file was not in force at "
                                 f"{body['generated_at']}")
    check.passed(f"signed by the lab key {signing[0].verifier.name}+"
                 f"{signing[0].verifier.key_id:08x} (in force at {body['generated_at']})")

    # 4. The checkpoint: signed by the lab, cosigned by at least one trusted witness while the
    #    signing key was in force.
    if body["checkpoint"] is None:
        raise VerificationFailed("the file carries no checkpoint of the lab's log")
    if witness_keys is None:
        witness_keys = body["witness_keys"]
        if witness_keys:
            check.warnings.append("the witness keys were taken from the file (vouched for by "
                                  "the lab's signature); pin the witness's own key "
                                  "(--witness-key) to rely on the witness alone")
    try:
        cosigners = [notes.parse_verifier_key(v) for v in witness_keys]
        signed = checkpoints.open_checkpoint(body["checkpoint"],
                                             [k.verifier for k in lab_keys], cosigners)
    except (TypeError, ValueError) as exc:
        raise VerificationFailed(f"the checkpoint does not verify: {exc}") from exc
    cp = signed.checkpoint
    check.checkpoint_size = cp.size
    cp_keys = [k for k in lab_keys for s, v in signed.opened.verified
               if (s.name, s.key_id) == (k.verifier.name, k.verifier.key_id)
               and type(v) is notes.Ed25519Verifier]
    if not cp.origin.endswith(f"/ledger/{body['lab']['code']}"):
        raise VerificationFailed(f"the checkpoint is of log {cp.origin!r}, not lab "
                                 f"{body['lab']['code']}'s")
    cosigs = [(n, t) for n, t in signed.cosignatures() if any(k.valid_at(t) for k in cp_keys)]
    check.witnessed = cosigs
    if cosigs:
        who = ", ".join(f"{n} at {datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M:%S} UTC"
                        for n, t in cosigs)
        check.passed(f"checkpoint of log {cp.origin}, {cp.size} entries, signed by the lab and "
                     f"cosigned by {who}")
    elif require_witness:
        raise VerificationFailed("the checkpoint has no cosignature from a trusted witness: it "
                                 "shows only what the lab's own server attested")
    else:
        check.warnings.append("the checkpoint is signed by the lab but not witnessed")
        check.passed(f"checkpoint of log {cp.origin}, {cp.size} entries, signed by the lab")

    # 5. Each event: the fields its hash covers, its link to the previous event, its hash.
    item, events = body["item"], body["events"]
    if not events:
        raise VerificationFailed("the file holds no custody event")
    prev = GENESIS
    positions = set()
    for n, event in enumerate(events, start=1):
        where = f"event {n}"
        _shape(event, EVENT_KEYS, where)
        fields = event["fields"]
        if set(fields) != EVENT_FIELDS:
            raise VerificationFailed(f"{where}: the hashed fields are not those of a custody "
                                     "event")
        if (fields["seq"], fields["item_id"], fields["lab_id"]) != (
                n, item["id"], body["lab"]["id"]):
            raise VerificationFailed(f"{where}: it is not event {n} of item {item['id']} of "
                                     "this lab")
        if event["prev_hash"] != prev:
            raise VerificationFailed(f"{where} does not link to the hash of the event before it")
        if chain_hash(prev, fields) != event["hash"]:
            raise VerificationFailed(f"{where} ({fields['kind']}) does not match its hash: its "
                                     "recorded contents were altered")
        prev = event["hash"]
        # 6. Its leaf in the lab's log, and the inclusion proof up to the checkpoint's root.
        position = event["position"]
        if position is None:
            raise VerificationFailed(f"{where} is not in the lab's log (not sealed)")
        if position in positions:
            raise VerificationFailed(f"{where} claims a position already used")
        positions.add(position)
        proof = [_b64(h, f"{where} inclusion proof") for h in event["inclusion_proof"]]
        leaf = leaf_hash(LEAF_KIND, body["lab"]["id"], event["id"], event["hash"])
        try:
            merkle.verify_inclusion(leaf, position, cp.size, proof, cp.root_hash)
        except merkle.ProofError as exc:
            raise VerificationFailed(f"{where} is not in the checkpoint at position {position}:"
                                     f" {exc}") from exc
    if len(events) != item["custody_seq"] or prev != item["custody_head"]:
        raise VerificationFailed(f"the item's chain head is event {item['custody_seq']} but "
                                 f"the file ends at event {len(events)}")
    check.events = len(events)
    check.passed(f"1 event of item {item['barcode']}: it matches its hash and is the item's "
                 "chain head" if len(events) == 1 else
                 f"{len(events)} events of item {item['barcode']}: each matches its hash and "
                 "links to the one before, the last is the item's chain head")
    check.passed(f"the event is included in the checkpoint (RFC 9162 inclusion proof at "
                 f"position {events[0]['position']})" if len(events) == 1 else
                 f"each event is included in the checkpoint (RFC 9162 inclusion proofs at "
                 f"positions {', '.join(str(e['position']) for e in events)})")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ballistics.ledger.court FILE --lab-keys KEYS``: the same check as ``flask
    ledger verify-report`` without the application (PyNaCl is the only dependency)."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m ballistics.ledger.court",
                                     description="Check a custody proof file offline.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--lab-keys", type=Path, required=True,
                        help="the lab's public key document")
    parser.add_argument("--witness-key", action="append", default=None,
                        help="a witness cosignature key to trust (repeatable)")
    parser.add_argument("--allow-unwitnessed", action="store_true")
    args = parser.parse_args(argv)
    try:
        keys = load_public_keys(json.loads(args.lab_keys.read_text()))
    except (OSError, ValueError, KeyringError) as exc:
        parser.error(f"cannot read the lab's keys: {exc}")
    check = verify_document(args.file.read_bytes(), keys, args.witness_key,
                            require_witness=not args.allow_unwitnessed)
    print(check.text(), end="")
    return 0 if check.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
