"""The hub's rules: members and keys, shared records, partner searches, leads and the inbox
each member pulls. Called by the signed hub API (:mod:`.hub_api`), the hub's tasks and its
command line. Services only flush; the request or task commits."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ballistics import imaging
from ballistics.comparisons import searches
from ballistics.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import english
from ballistics.extensions import db
from ballistics.network import hub_index
from ballistics.network.models import (
    EventKind,
    HubEvent,
    HubFeatureBlob,
    HubLead,
    HubMember,
    HubMemberKey,
    HubRecord,
    HubSearch,
    HubTransfer,
    LeadStatus,
    MemberStatus,
    SearchState,
    TransferStatus,
)
from ballistics.outbox.services import enqueue

#: answers an owner may give a lead
ANSWERS = (LeadStatus.DISCLOSED, LeadStatus.EXHIBIT_REQUESTED, LeadStatus.DECLINED)


def key_id_for(code: str, public_key: bytes) -> str:
    """The RFC 9421 key id of a member's key: the lab code and 8 hex digits of its SHA-256."""
    return f"{code}:{hashlib.sha256(public_key).hexdigest()[:8]}"


# -- members and keys (the hub administrator, from the command line) -----------------------


def add_member(code: str, name: str, public_key: bytes, country: str = "") -> HubMember:
    if db.session.scalar(select(HubMember).where(HubMember.code == code)) is not None:
        raise Conflict(f"Lab {code} is already a member; use add-key to rotate its key.",
                       code="member_exists")
    member = HubMember(code=code, name=name, country=country)
    db.session.add(member)
    db.session.flush()
    add_key(member, public_key)
    return member


def member(code: str) -> HubMember:
    found = db.session.scalar(select(HubMember).where(HubMember.code == code))
    if found is None:
        raise NotFound(f"No member lab {code}.")
    return found


def add_key(member_: HubMember, public_key: bytes, *, retire_others: bool = True
            ) -> HubMemberKey:
    """Register a member's new key; the older ones are retired (kept on record, refused)."""
    if len(public_key) != 32:
        raise Unprocessable("An Ed25519 public key is 32 bytes.", fields={"key": ["32 bytes."]})
    now = utcnow()
    if retire_others:
        for old in member_.keys:
            if old.retired_at is None:
                old.retired_at = now
    key = HubMemberKey(member=member_, key_id=key_id_for(member_.code, public_key),
                       public_key=public_key, added_at=now)
    db.session.add(key)
    db.session.flush()
    return key


def revoke(member_: HubMember, reason: str) -> None:
    member_.status, member_.revoked_at, member_.revoked_reason = (
        MemberStatus.REVOKED, utcnow(), reason)


def reinstate(member_: HubMember) -> None:
    member_.status, member_.revoked_at, member_.revoked_reason = MemberStatus.ACTIVE, None, ""


def directory() -> list[HubMember]:
    """The active member labs, by code: whom a member may name as a partner (e.g. before it
    releases an exhibit to one). Revoked labs are not listed."""
    return list(db.session.scalars(select(HubMember).where(
        HubMember.status == MemberStatus.ACTIVE).order_by(HubMember.code)))


# -- shared records --------------------------------------------------------------------------


def _record(owner: str, record_id: int) -> HubRecord | None:
    return db.session.scalar(select(HubRecord).where(HubRecord.owner_code == owner,
                                                     HubRecord.record_id == record_id))


def store_record(owner: HubMember, data: dict) -> tuple[HubRecord, bool]:
    """Store or update a shared record; a delivery of a version already held is a duplicate
    (the node retries until it hears back), answered without a change."""
    record = _record(owner.code, data["record_id"])
    if record is not None and record.version >= data["version"]:
        return record, False
    features = data["features"]
    sha = hashlib.sha256(features).hexdigest()
    if db.session.get(HubFeatureBlob, sha) is None:
        db.session.add(HubFeatureBlob(sha256=sha, data=features))
    fields = {k: data[k] for k in ("reference", "version", "algorithm_version", "region",
                                   "calibre", "firing_pin_shape", "breech_face_class",
                                   "shared_with", "signature", "scanned_at")}
    if record is None:
        record = HubRecord(owner_code=owner.code, record_id=data["record_id"],
                           features_sha256=sha, **fields)
        db.session.add(record)
    else:
        for name, value in fields.items():
            setattr(record, name, value)
        record.features_sha256, record.withdrawn_at = sha, None
    db.session.flush()
    # Into the signature index once this commits (the outbox: never lost; a search heals a
    # record whose append is still on its way).
    enqueue("network.hub_index_records", [record.id])
    return record, True


def withdraw_record(owner: HubMember, record_id: int, version: int) -> bool:
    record = _record(owner.code, record_id)
    if record is None or record.version >= version:
        return False
    record.version, record.withdrawn_at = version, utcnow()
    return True


def apply_batch(owner: HubMember, operations: list[dict]) -> list[dict]:
    """A node's deliveries in the order it wrote them (each one idempotent by version)."""
    results = []
    for op in operations:
        if op["op"] == "publish":
            record, stored = store_record(owner, op["record"])
            results.append({"record_id": record.record_id, "stored": stored})
        else:
            results.append({"record_id": op["record_id"], "stored": withdraw_record(
                owner, op["record_id"], op["version"])})
    return results


# -- partner searches ------------------------------------------------------------------------


def submit_search(requester: HubMember, data: dict) -> tuple[HubSearch, bool]:
    existing = db.session.scalar(select(HubSearch).where(
        HubSearch.requester_code == requester.code, HubSearch.request_ref == data["request_ref"]))
    if existing is not None:
        return existing, False
    search = HubSearch(requester_code=requester.code, **data)
    db.session.add(search)
    db.session.flush()
    enqueue("network.hub_run_search", search.id)
    return search, True


def get_search(requester: HubMember, search_id: int) -> HubSearch:
    search = db.session.get(HubSearch, search_id)
    if search is None or search.requester_code != requester.code:
        raise NotFound(f"No search {search_id} of lab {requester.code}.")
    return search


def claim_search(search_id: int) -> HubSearch | None:
    """Stage 1 of a queued partner search, claimed by this delivery of
    ``network.hub_run_search`` (locked until the chord it starts is committed with it, as a
    lab's: :func:`ballistics.comparisons.searches.locked`), or None when another delivery
    started it already."""
    search = searches.locked(HubSearch, search_id)
    if search is None or search.status != SearchState.QUEUED:
        return None
    search.status, search.started_at = SearchState.RUNNING, utcnow()
    return search


def claim_comparisons(search_id: int) -> HubSearch | None:
    """The close of a sharded stage 1, claimed by this delivery of the shards' callback
    (:func:`to_chunks` sets ``ranked_at`` once), or None."""
    search = searches.locked(HubSearch, search_id)
    if search is None or search.status != SearchState.RUNNING or search.ranked_at is not None:
        return None
    return search


def shard_shortlist(search_id: int, lo: int, hi: int) -> dict:
    """Stage 1 over one shard (index ids ``lo..hi``): its shortlist ``(record id, bound,
    exact)`` and its count of admissible records, as a task returns them."""
    search = db.session.get(HubSearch, search_id)
    # QUEUED too: the claim that sent this shard commits with the sending (claim_search).
    if search is None or search.status not in (SearchState.QUEUED, SearchState.RUNNING):
        return {"n": 0, "top": []}
    top, n = hub_index.shard_shortlist(search, lo, hi)
    return {"n": n, "top": [list(r) for r in top]}


def to_chunks(search: HubSearch, shards: list[dict], chunk_size: int
              ) -> list[list[tuple[int, float]]]:
    """Close stage 1: the shards' shortlists merged into the top K ``(record id,
    similarity)``, in chunks of ``chunk_size`` for stage 2 (``SEARCH_CHUNK_SIZE``)."""
    top = hub_index.merge(search, [(r["top"], r["n"]) for r in shards])
    search.ranked_at = utcnow()
    size = max(int(chunk_size), 1)
    return [top[i:i + size] for i in range(0, len(top), size)]


def rank_search(search_id: int, chunk_size: int) -> list[list[tuple[int, float]]]:
    """Stage 1 over all the admissible shared records in this process, from the signature
    index (no record's signature is read here): the top K in chunks of ``chunk_size``. The
    search is started by its claim (:func:`claim_search`), not here."""
    search = db.session.get(HubSearch, search_id)
    top, n = hub_index.shard_shortlist(search)
    return to_chunks(search, [{"top": top, "n": n}], chunk_size)


def _query_features(search: HubSearch) -> imaging.Features:
    """The query's features, read, decoded and prepared once per worker process and search
    (as a lab's chunks do), not once per chunk."""

    def load() -> imaging.Features:
        return imaging.features_from_bytes(db.session.scalar(
            select(HubSearch.features).where(HubSearch.id == search.id)))

    return searches.cached_query(("hub", search.id, search.algorithm_version), load)


def compare_chunk(search_id: int, chunk: list[tuple[int, float]]) -> list[dict]:
    """Stage 2 for one chunk: the full comparison of each record against the query. A
    candidate names the owning lab and its opaque reference, with the score and likelihood
    ratio, never more."""
    from ballistics.comparisons import validation

    search = db.session.get(HubSearch, search_id)
    query = _query_features(search)
    # What a candidate names, and its features' key (not the record's signature: stage 1's).
    records = {r.id: r for r in db.session.execute(
        select(HubRecord.id, HubRecord.owner_code, HubRecord.reference, HubRecord.calibre,
               HubRecord.features_sha256).where(HubRecord.id.in_([int(i) for i, _ in chunk])))}
    blobs = {b.sha256: b.data for b in db.session.scalars(select(HubFeatureBlob).where(
        HubFeatureBlob.sha256.in_({r.features_sha256 for r in records.values()})))}
    found = []
    for record_id, similarity in chunk:
        record = records[int(record_id)]
        reference = imaging.features_from_bytes(blobs[record.features_sha256])
        result = imaging.compare(query, reference)
        # Outside the calibration's domain (e.g. 2D images, raw scans) the score goes alone.
        lr, why = validation.likelihood_ratio(result.score, query.meta, reference.meta,
                                              search.region)
        # The note in English for machines, its wording for the partner's pages.
        found.append({"record": record.id, "owner": record.owner_code,
                      "reference": record.reference, "calibre": record.calibre,
                      "score": result.score, "cmc_count": result.cmc_count,
                      "signature_similarity": similarity, "likelihood_ratio": lr,
                      "lr_note": english(why) if why else "", "lr_wording": why})
    return found


def finish_search(search_id: int, found: list[dict]) -> HubSearch:
    """Store the candidates ranked by score; each owner whose records came back is told who
    searched (an access event in its inbox). Once: a second callback (a duplicate chord)
    finds the search no longer running and stores and tells nothing."""
    search = searches.locked(HubSearch, search_id)
    if search.status != SearchState.RUNNING:
        return search
    found = sorted(found, key=lambda c: (-c["score"], -c["signature_similarity"]))
    for rank, candidate in enumerate(found, start=1):
        candidate["rank"] = rank
    search.candidates, search.status, search.finished_at = found, SearchState.DONE, utcnow()
    owners: dict[str, list[str]] = {}
    for candidate in found:
        if candidate["owner"] != search.requester_code:
            owners.setdefault(candidate["owner"], []).append(candidate["reference"])
    for owner, references in sorted(owners.items()):
        _event(owner, EventKind.ACCESS, {"partner": search.requester_code, "search": search.id,
                                         "references": references,
                                         "at": search.finished_at.isoformat()})
    return search


def run_search(search_id: int, chunk_size: int = 10) -> HubSearch:
    """Both stages in this process, in the order the tasks run them (the worker spreads the
    chunks: ``network.hub_run_search``)."""
    claim_search(search_id)
    chunks = rank_search(search_id, chunk_size)
    return finish_search(search_id, [c for chunk in chunks
                                     for c in compare_chunk(search_id, chunk)])


def fail_search(search_id: int, reason: str) -> None:
    """Record why a partner search failed; one done already stays done (a late error of a
    duplicate task says nothing about the list stored)."""
    search = db.session.get(HubSearch, search_id)
    if search is not None and search.status != SearchState.DONE:
        search.status, search.error, search.finished_at = SearchState.FAILED, reason, utcnow()


def sweep_stuck(after_seconds: int) -> dict[str, int]:
    """The lab's rule at the hub (:func:`ballistics.comparisons.searches.sweep_stuck`): fail
    partner searches not finished ``after_seconds`` after they started (or were queued),
    with the reason; the requesting lab's poll reads it instead of waiting out its timeout."""
    found = searches.stuck(HubSearch, [SearchState.QUEUED, SearchState.RUNNING], after_seconds)
    for search_id in found:
        fail_search(search_id, english(searches.stuck_reason(after_seconds)))  # relayed in English
    return {"hub_searches_failed": len(found)}


# -- leads -----------------------------------------------------------------------------------


def _event(member_code: str, kind: EventKind, body: dict, payload: dict | None = None) -> None:
    db.session.add(HubEvent(member_code=member_code, kind=kind, body=body, payload=payload))


def _lead_body(lead: HubLead) -> dict:
    return {"lead": lead.id, "requester": lead.requester_code, "owner": lead.owner_code,
            "reference": lead.record.reference, "record_id": lead.record.record_id,
            "score": lead.score, "likelihood_ratio": lead.likelihood_ratio, "note": lead.note,
            "status": lead.status.value, "answer": lead.answer,
            "due_at": lead.due_at.isoformat(), "request_ref": lead.request_ref}


def create_lead(requester: HubMember, data: dict) -> tuple[HubLead, bool]:
    """The requesting lab's examiner asks the owner about a candidate of its search."""
    existing = db.session.scalar(select(HubLead).where(
        HubLead.requester_code == requester.code, HubLead.request_ref == data["request_ref"]))
    if existing is not None:
        return existing, False
    search = get_search(requester, data["search_id"])
    candidate = next((c for c in search.candidates if c["record"] == data["record"]), None)
    if candidate is None:
        raise Unprocessable(f"Record {data['record']} is not a candidate of search {search.id}.",
                            fields={"record": ["Not a candidate of this search."]})
    if candidate["owner"] == requester.code:
        raise Unprocessable("That record is your own lab's; look it up at home.",
                            fields={"record": ["Your own record."]})
    record = db.session.get(HubRecord, candidate["record"])
    if record.withdrawn_at is not None:
        raise Conflict(f"Record {record.reference} was withdrawn by {record.owner_code}.",
                       code="withdrawn")
    now = utcnow()
    lead = HubLead(search_id=search.id, record=record, requester_code=requester.code,
                   request_ref=data["request_ref"], owner_code=record.owner_code,
                   score=candidate["score"], likelihood_ratio=candidate["likelihood_ratio"],
                   note=data.get("note", ""), created_at=now,
                   due_at=now + timedelta(hours=current_app.config["NETWORK_LEAD_HOURS"]))
    db.session.add(lead)
    db.session.flush()
    _event(lead.owner_code, EventKind.LEAD, _lead_body(lead))
    return lead, True


def answer_lead(owner: HubMember, lead_id: int, status: str, answer: str) -> HubLead:
    lead = db.session.get(HubLead, lead_id)
    if lead is None or lead.owner_code != owner.code:
        raise NotFound(f"No lead {lead_id} for lab {owner.code}.")
    if lead.status not in (LeadStatus.OPEN, LeadStatus.EXHIBIT_REQUESTED):
        raise Conflict(f"Lead {lead.id} is already {lead.status.value.replace('_', ' ')}.",
                       code="lead_closed")
    if LeadStatus(status) not in ANSWERS:
        raise Unprocessable("Answer with disclosed, exhibit_requested or declined.",
                            fields={"status": ["Not an answer."]})
    lead.status, lead.answer, lead.answered_at = LeadStatus(status), answer, utcnow()
    _event(lead.requester_code, EventKind.ANSWER, _lead_body(lead))
    return lead


def expire_leads(now: datetime | None = None) -> int:
    """Open leads past their due date expire; both labs are told."""
    now = now or utcnow()
    overdue = db.session.scalars(select(HubLead).where(HubLead.status == LeadStatus.OPEN,
                                                       HubLead.due_at < now)).all()
    for lead in overdue:
        lead.status = LeadStatus.EXPIRED
        for code in (lead.requester_code, lead.owner_code):
            _event(code, EventKind.EXPIRED, _lead_body(lead))
    return len(overdue)


def inbox(member_: HubMember, after: int, limit: int) -> list[HubEvent]:
    """The member's events after its cursor. Asking past an event acknowledges it (the node
    stored what it pulled before it moves its cursor), so relayed receipts up to ``after``
    let the hub forget their transfers' payloads (:func:`forget_relayed`)."""
    forget_relayed(member_, after)
    return list(db.session.scalars(select(HubEvent).where(
        HubEvent.member_code == member_.code, HubEvent.id > after)
        .order_by(HubEvent.id).limit(limit)))


def require_member(member_: HubMember, code: str) -> None:
    if member_.code != code:
        raise Forbidden(f"Lab {member_.code} cannot act for lab {code}.", code="not_your_lab")



# -- physical exchange -----------------------------------------------------------------------


def ledger_vkeys(code: str) -> list[str]:
    """The member's ledger verifier keys as the hub's witness registered them ([] if the hub
    does not witness that lab's ledger)."""
    witness = current_app.extensions.get("hub_witness")
    if witness is None:
        return []
    return [k for log in witness.logs() if log.origin.endswith(f"/ledger/{code}")
            for k in log.vkeys]


def relay_transfer(sender: HubMember, data: dict) -> tuple[HubTransfer, bool]:
    """A member sends a physical exhibit to another: the release (with its ledger proof) goes
    to the receiver's inbox. Idempotent per (sender, transfer id): the node retries until it
    hears back. Refused before anything is stored if the receiver is no active member or the
    proof does not hold with the sender's registered ledger key.

    The exhibit's description, the sender's note and the proof (whose event fields hold the
    release's free text) go in the event's payload, kept only until the receipt has reached
    the sender; the transfer row and the event body keep the references (labs, transfer id,
    hash, leaf index)."""
    from ballistics.network import exchange_proof

    existing = db.session.scalar(select(HubTransfer).where(
        HubTransfer.sender_code == sender.code, HubTransfer.transfer_id == data["transfer_id"]))
    if existing is not None:
        return existing, False
    receiver = db.session.scalar(select(HubMember).where(HubMember.code == data["receiver"]))
    if receiver is None or receiver.code == sender.code:
        raise NotFound(f"No partner lab {data['receiver']} in the network.")
    if receiver.status != MemberStatus.ACTIVE:
        raise Conflict(f"Lab {receiver.code} is not an active member.", code="revoked_lab")
    keys = ledger_vkeys(sender.code)
    if keys:
        check = exchange_proof.verify(data["proof"], transfer_id=data["transfer_id"],
                                      receiver=receiver.code, log_vkeys=keys)
        if not check.ok:
            raise Unprocessable(f"The release is not proven in lab {sender.code}'s ledger: "
                                f"{check.reason}", fields={"proof": [check.reason]})
    transfer = HubTransfer(transfer_id=data["transfer_id"], sender_code=sender.code,
                           receiver_code=receiver.code, status=TransferStatus.DELIVERED,
                           release_hash=data["proof"]["event"]["hash"],
                           release_leaf_index=data["proof"]["leaf_index"])
    db.session.add(transfer)
    db.session.flush()
    _event(receiver.code, EventKind.TRANSFER, {
        "transfer": transfer.id, "transfer_id": transfer.transfer_id, "sender": sender.code,
        "receiver": receiver.code, "release_hash": transfer.release_hash,
        "release_leaf_index": transfer.release_leaf_index}, payload={
        "item_kind": data["item_kind"], "calibre": data["calibre"],
        "seal_number": data["seal_number"], "note": data["note"], "proof": data["proof"],
        "log_vkeys": keys})
    return transfer, True


def record_receipt(receiver: HubMember, data: dict) -> tuple[HubTransfer, bool]:
    """The receiver recorded the exhibit's arrival: the sender is told, with the receipt
    event's hash and its position in the receiver's ledger. A second identical report is a
    duplicate; a different one for the same transfer is refused."""
    transfer = db.session.scalar(select(HubTransfer).where(
        HubTransfer.sender_code == data["sender"], HubTransfer.transfer_id == data["transfer_id"]))
    if transfer is None or transfer.receiver_code != receiver.code:
        raise NotFound(f"No transfer {data['transfer_id']} from {data['sender']} to lab "
                       f"{receiver.code}.")
    if transfer.status == TransferStatus.RECEIVED:
        if transfer.receipt_hash == data["receipt_hash"]:
            return transfer, False
        raise Conflict(f"Transfer {transfer.transfer_id} was already received with another "
                       "receipt.", code="already_received")
    transfer.status, transfer.received_at = TransferStatus.RECEIVED, utcnow()
    transfer.receipt_hash = data["receipt_hash"]
    transfer.receipt_leaf_index = data["receipt_leaf_index"]
    # The proof's event fields hold the receiver's free-text reason: relayed once, then
    # forgotten with the release's payload once the sender has pulled this.
    _event(transfer.sender_code, EventKind.RECEIPT, {
        "transfer": transfer.id, "transfer_id": transfer.transfer_id,
        "receiver": receiver.code, "receipt_event_id": data["receipt_event_id"],
        "receipt_hash": data["receipt_hash"], "receipt_leaf_index": data["receipt_leaf_index"]},
        payload={"proof": data["proof"], "log_vkeys": ledger_vkeys(receiver.code)})
    return transfer, True


def forget_relayed(sender: HubMember, acknowledged: int) -> int:
    """Data minimisation: once a sender has pulled the receipt of its exhibit (its cursor is
    past the receipt event), the hub has relayed all it was asked to. It keeps what proves the
    relay (the transfer row: labs, transfer id, both events' hashes and leaf indexes, dates;
    the events' bodies: the same references) and drops both events' payloads: the
    description, the sender's note, the seal number and the proofs with both events' free
    text. Returns the number of transfers forgotten."""
    receipts = db.session.scalars(select(HubEvent).where(
        HubEvent.member_code == sender.code, HubEvent.kind == EventKind.RECEIPT,
        HubEvent.id <= acknowledged, HubEvent.payload.is_not(None))).all()
    if not receipts:
        return 0
    now = utcnow()
    for receipt in receipts:
        transfer = db.session.get(HubTransfer, receipt.body["transfer"])
        releases = db.session.scalars(select(HubEvent).where(
            HubEvent.member_code == transfer.receiver_code,
            HubEvent.kind == EventKind.TRANSFER, HubEvent.payload.is_not(None))).all()
        for event in [receipt, *(e for e in releases if e.body["transfer"] == transfer.id)]:
            event.payload = None
        transfer.relayed_at = now
    return len(receipts)
