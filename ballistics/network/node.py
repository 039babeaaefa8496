"""A lab node's side of the network: what the lab shares (policy, exclusions, withdrawals),
delivery to the hub in order, partner searches, leads in both directions and the record of
who looked at the lab's data. Services flush; the request or task commits."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from ballistics import imaging
from ballistics.auth.access import require_role
from ballistics.auth.models import Lab, User
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus
from ballistics.comparisons.permissions import REVIEW_CANDIDATES, SCAN_AND_SEARCH
from ballistics.core.errors import Conflict, NotFound, Unprocessable
from ballistics.core.labels import label
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import Wording, english
from ballistics.evidence.models import Case, Item, ItemStatus
from ballistics.extensions import db
from ballistics.network import client, signing
from ballistics.network.models import (
    AccessKind,
    EventKind,
    ImportedScan,
    LeadDirection,
    LeadStatus,
    NetworkAccess,
    NodeCursor,
    PartnerLead,
    PartnerSearch,
    SearchState,
    SharedScan,
    ShareExclusion,
    ShareMode,
    SharePolicy,
)
from ballistics.network.permissions import MANAGE_SHARING
from ballistics.outbox.models import OutboxMessage, Topic
from ballistics.outbox.services import enqueue, post

log = logging.getLogger(__name__)


def node_lab() -> Lab:
    """The lab this node speaks for at the hub (``NETWORK_LAB``)."""
    code = current_app.config["NETWORK_LAB"]
    lab = db.session.scalar(select(Lab).where(Lab.code == code)) if code else None
    if lab is None:
        raise Conflict(_("This node is not connected to a regional hub (set NETWORK_LAB and "
                         "NETWORK_HUB_URL)."), code="network_not_configured")
    return lab


def _own_lab(actor: User) -> Lab:
    lab = node_lab()
    if actor.lab_id != lab.id:
        raise Conflict(_("This node speaks for lab %(code)s at the hub, not yours.", code=lab.code),
                       code="not_the_node_lab")
    return lab


# -- what the lab shares ---------------------------------------------------------------------


def policy_of(lab_id: int) -> SharePolicy:
    found = db.session.scalar(select(SharePolicy).where(SharePolicy.lab_id == lab_id))
    return found or SharePolicy(lab_id=lab_id, mode=ShareMode.NONE, partners=[], criteria={})


def set_policy(actor: User, *, mode: str, partners: list[str], offence_contains: list[str],
               agency_contains: list[str]) -> SharePolicy:
    require_role(actor, MANAGE_SHARING, "decide what the lab shares")
    _own_lab(actor)
    if ShareMode(mode) == ShareMode.NAMED and not partners:
        raise Unprocessable(_("Name at least one partner lab, or share with all."),
                            fields={"partners": [_("Required when sharing with named labs.")]})
    policy = policy_of(actor.lab_id)
    if policy.id is None:
        db.session.add(policy)
    policy.mode = ShareMode(mode)
    policy.partners = sorted(set(partners)) if policy.mode == ShareMode.NAMED else []
    policy.criteria = {k: v for k, v in (("offence_contains", offence_contains),
                                         ("agency_contains", agency_contains)) if v}
    policy.updated_by_id, policy.updated_at = actor.id, utcnow()
    db.session.flush()
    sync_shares(actor.lab_id)
    return policy


def exclude_case(actor: User, case: Case, reason: str) -> ShareExclusion:
    require_role(actor, MANAGE_SHARING, "exclude cases from sharing")
    if db.session.scalar(select(ShareExclusion.id).where(
            ShareExclusion.lab_id == actor.lab_id, ShareExclusion.case_id == case.id,
            ShareExclusion.lifted_at.is_(None))) is not None:
        raise Conflict(_("Case %(number)s is already excluded from sharing.",
                         number=case.lab_case_number), code="already_excluded",
                       fields={"case_id": [_("Already excluded.")]})
    exclusion = ShareExclusion(lab_id=actor.lab_id, case_id=case.id, reason=reason,
                               created_by_id=actor.id)
    db.session.add(exclusion)
    db.session.flush()
    sync_shares(actor.lab_id)
    return exclusion


def withdraw_scan(actor: User, scan: Scan, reason: str) -> SharedScan:
    """Withdraw one shared record: the hub drops it from every later result."""
    require_role(actor, MANAGE_SHARING, "withdraw shared records")
    shared = db.session.scalar(select(SharedScan).where(SharedScan.scan_id == scan.id))
    if shared is None or shared.is_withdrawn:
        raise Conflict(_("Scan %(id)s is not shared.", id=scan.id), code="not_shared")
    db.session.add(ShareExclusion(lab_id=actor.lab_id, scan_id=scan.id, reason=reason,
                                  created_by_id=actor.id))
    db.session.flush()
    sync_shares(actor.lab_id)
    return shared


def lift_exclusion(actor: User, exclusion: ShareExclusion, reason: str) -> ShareExclusion:
    """End an exclusion (the case is no longer sealed; a record was withdrawn by mistake): the
    policy decides again what of it is shared. The exclusion stays on record, lifted, with who
    lifted it, when and why."""
    require_role(actor, MANAGE_SHARING, "lift exclusions from sharing")
    if not exclusion.is_active:
        raise Conflict(_("This exclusion was already lifted."), code="already_lifted")
    exclusion.lifted_by_id, exclusion.lifted_at, exclusion.lift_reason = (
        actor.id, utcnow(), reason)
    db.session.flush()
    sync_shares(actor.lab_id)
    return exclusion


def _matches(criteria: dict, case: Case) -> bool:
    rules = [("offence_contains", case.offence), ("agency_contains", case.submitting_agency)]
    if not any(criteria.get(name) for name, _ in rules):
        return True
    return any(word.casefold() in (text or "").casefold()
               for name, text in rules for word in criteria.get(name, []))


def desired_shares(lab_id: int, scan_ids: list[int] | None = None) -> dict[int, list[str]]:
    """scan id -> the labs it is shared with, as the policy says today (of ``scan_ids`` only,
    if given)."""
    policy = policy_of(lab_id)
    if policy.mode == ShareMode.NONE:
        return {}
    audience = ["*"] if policy.mode == ShareMode.ALL else list(policy.partners)
    excluded = db.session.execute(select(ShareExclusion.case_id, ShareExclusion.scan_id)
                                  .where(ShareExclusion.lab_id == lab_id,
                                         ShareExclusion.lifted_at.is_(None))).all()
    cases = {c for c, _ in excluded if c}
    scans = {s for _, s in excluded if s}
    stmt = (select(Scan.id, Case).join(Item, Item.id == Scan.item_id)
            .join(Case, Case.id == Item.case_id)
            .where(Scan.lab_id == lab_id, Scan.status == ScanStatus.DONE,
                   Scan.is_open_case.is_(True), Item.status == ItemStatus.IN_CUSTODY,
                   # a reference imported from another system is its owner's to share, not ours
                   Scan.id.not_in(select(ImportedScan.scan_id))))
    if scan_ids is not None:
        stmt = stmt.where(Scan.id.in_(scan_ids))
    rows = db.session.execute(stmt).all()
    return {scan_id: audience for scan_id, case in rows
            if scan_id not in scans and case.id not in cases and _matches(policy.criteria, case)}


def sync_shares(lab_id: int, scan_ids: list[int] | None = None) -> dict[str, int]:
    """Bring what the hub holds in line with the policy (for ``scan_ids`` only, if given: a
    scan just made ready, without reading every scan of the lab): publish, update or
    withdraw, each change one versioned message to the hub in this same transaction."""
    want = desired_shares(lab_id, scan_ids)
    shared = select(SharedScan).where(SharedScan.lab_id == lab_id)
    if scan_ids is not None:
        shared = shared.where(SharedScan.scan_id.in_(scan_ids))
    have = {s.scan_id: s for s in db.session.scalars(shared)}
    counts = {"published": 0, "withdrawn": 0}
    lab_code = db.session.get(Lab, lab_id).code
    for scan_id, audience in sorted(want.items()):
        shared = have.get(scan_id)
        if shared is None:
            shared = SharedScan(lab_id=lab_id, scan_id=scan_id, version=1, shared_with=audience,
                                reference=f"{lab_code}-{secrets.token_hex(4).upper()}")
            db.session.add(shared)
        elif shared.is_withdrawn or shared.shared_with != audience:
            shared.version += 1
            shared.shared_with, shared.is_withdrawn, shared.withdrawn_at = audience, False, None
        else:
            continue
        shared.shared_at = utcnow()
        db.session.flush()
        post(Topic.HUB, "record.publish", {"lab": lab_id, "scan": scan_id,
                                           "version": shared.version})
        counts["published"] += 1
    for scan_id, shared in sorted(have.items()):
        if scan_id not in want and not shared.is_withdrawn:
            shared.version += 1
            shared.is_withdrawn, shared.withdrawn_at = True, utcnow()
            post(Topic.HUB, "record.withdraw", {"lab": lab_id, "scan": scan_id,
                                                "version": shared.version})
            counts["withdrawn"] += 1
    if counts["published"] or counts["withdrawn"]:
        enqueue("network.deliver")
    return counts


# -- delivery to the hub, in order -----------------------------------------------------------


def _record_operation(message: OutboxMessage) -> dict:
    body = message.payload
    if message.name == "record.withdraw":
        return {"op": "withdraw", "record_id": body["scan"], "version": body["version"]}
    shared = db.session.scalar(select(SharedScan).where(SharedScan.scan_id == body["scan"]))
    scan = db.session.get(Scan, shared.scan_id)
    features = db.session.scalar(select(FeatureSet).where(
        FeatureSet.sha256 == scan.sha256,
        FeatureSet.algorithm_version == imaging.ALGORITHM_VERSION))
    if features is None:
        raise client.HubUnavailable(f"scan {scan.id} has no features of "
                                    f"{imaging.ALGORITHM_VERSION} yet")
    return {"op": "publish", "record": {
        "record_id": scan.id, "version": body["version"], "reference": shared.reference,
        "algorithm_version": features.algorithm_version, "region": scan.region.value,
        "calibre": scan.calibre, "firing_pin_shape": scan.firing_pin_shape,
        "breech_face_class": scan.breech_face_class, "shared_with": shared.shared_with,
        "scanned_at": scan.created_at.isoformat(), "signature": signing.b64(features.signature),
        "features": signing.b64(features.data)}}


def _lead_payload(message: OutboxMessage) -> tuple[str, str, dict]:
    lead = db.session.get(PartnerLead, message.payload["lead"])
    if message.name == "lead.request":
        search = db.session.get(PartnerSearch, lead.search_id)
        record = next(c["record"] for c in search.candidates if c["reference"] == lead.reference)
        return "POST", "/hub/v1/leads", {"request_ref": lead.id, "search_id":
                                         search.hub_search_id, "record": record,
                                         "note": lead.note}
    return "POST", f"/hub/v1/leads/{lead.hub_lead_id}/answer", {
        "status": lead.status.value, "answer": lead.answer}


def _delivered(message: OutboxMessage, answer: dict) -> None:
    if message.name == "lead.request":
        lead = db.session.get(PartnerLead, message.payload["lead"])
        lead.hub_lead_id = answer["id"]
        lead.due_at = datetime.fromisoformat(answer["due_at"]).replace(tzinfo=None)


#: record deliveries sent in one request (in order; each about 90 kB with its features)
BATCH = 50


def _send(messages: list[OutboxMessage]) -> None:
    """One request to the hub: a batch of record messages, or one lead or transfer message."""
    if messages[0].name.startswith("record."):
        client.call("POST", "/hub/v1/records/batch",
                    {"operations": [_record_operation(m) for m in messages]})
        return
    if messages[0].name.startswith("transfer."):
        from ballistics.network import exchange

        message = messages[0]
        # The proof seals and anchors the ledger in sessions of their own: this session must
        # not hold a write meanwhile (the attempt above, flushed by a query, would take
        # SQLite's write lock and the sealer would wait for it until "database is locked").
        with db.session.no_autoflush:
            method, path, body = exchange.outbound(message.name, message.payload["transfer"])
        client.call(method, path, body)
        exchange.delivered(message.name, message.payload["transfer"])
        return
    method, path, body = _lead_payload(messages[0])
    _delivered(messages[0], client.call(method, path, body))


@dataclass(frozen=True)
class Backlog:
    """What this node has for the hub and has not delivered yet."""

    waiting: int
    #: when the oldest waiting message was written
    since: datetime | None
    #: the last try to deliver failed (the hub down or unreachable)
    failing: bool
    #: when the next try is due (after a failure's back-off)
    next_try: datetime | None


def backlog() -> Backlog:
    """Messages for the hub not delivered yet, and whether the last try failed: the network
    page says so rather than letting "the hub has it within a minute" stand."""
    pending = select(OutboxMessage).where(OutboxMessage.topic == Topic.HUB,
                                          OutboxMessage.sent_at.is_(None))
    waiting = db.session.scalar(select(func.count()).select_from(pending.subquery()))
    head = db.session.scalars(pending.order_by(OutboxMessage.id).limit(1)).first()
    if head is None:
        return Backlog(0, None, False, None)
    return Backlog(waiting, head.created_at, bool(head.last_error), head.available_at)


def deliver(limit: int = 1000) -> tuple[int, int]:
    """Send pending hub messages strictly in the order they were written (consecutive record
    messages in batches); stop at the first that cannot be sent now (the hub is down), so
    nothing overtakes it. A message the hub refuses (4xx) is set aside with its reason:
    resending it would not help."""
    sent = failed = 0
    while sent + failed < limit:
        head = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == Topic.HUB, OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id).limit(BATCH)).all()
        if not head or head[0].available_at > utcnow():
            break
        messages = [head[0]]
        if head[0].name.startswith("record."):
            for message in head[1:]:
                if not message.name.startswith("record."):
                    break
                messages.append(message)
        for message in messages:
            message.attempts += 1
        try:
            _send(messages)
        except client.HubRefused as exc:
            for message in messages:
                message.last_error, message.sent_at = f"refused: {exc}"[:2000], utcnow()
                if message.name.startswith("transfer."):
                    from ballistics.network import exchange

                    exchange.refused(message.name, message.payload["transfer"], str(exc))
            log.error("hub refused outbox %s..%s: %s", messages[0].id, messages[-1].id, exc)
            failed += len(messages)
        except OSError as exc:
            delay = min(2 ** messages[0].attempts, 300)
            for message in messages:
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                message.available_at = utcnow() + timedelta(seconds=delay)
            db.session.commit()
            return sent, failed + len(messages)
        else:
            for message in messages:
                message.sent_at, message.last_error = utcnow(), ""
            sent += len(messages)
        db.session.commit()
    return sent, failed


# -- partner searches ------------------------------------------------------------------------


def start_partner_search(actor: User, scan: Scan, k: int = 50) -> PartnerSearch:
    require_role(actor, SCAN_AND_SEARCH, "search the region")
    _own_lab(actor)
    if scan.status != ScanStatus.DONE:
        raise Conflict(_("Scan %(id)s has no features yet (%(status)s); search once it is done.",
                         id=scan.id, status=scan.status), code="scan_not_ready")
    search = PartnerSearch(lab_id=actor.lab_id, scan_id=scan.id, k=k, created_by_id=actor.id)
    db.session.add(search)
    db.session.flush()
    enqueue("network.submit_search", search.id)
    return search


def submit_search(search: PartnerSearch) -> None:
    scan = db.session.get(Scan, search.scan_id)
    features = db.session.scalar(select(FeatureSet).where(
        FeatureSet.sha256 == scan.sha256,
        FeatureSet.algorithm_version == imaging.ALGORITHM_VERSION))
    answer = client.call("POST", "/hub/v1/searches", {
        "request_ref": search.id, "algorithm_version": features.algorithm_version,
        "region": scan.region.value, "calibre": scan.calibre, "k": search.k,
        "signature": signing.b64(features.signature), "features": signing.b64(features.data)})
    search.hub_search_id, search.status = answer["id"], SearchState.RUNNING


def poll_search(search: PartnerSearch) -> bool:
    """Fetch the hub's answer; True once it is final."""
    answer = client.call("GET", f"/hub/v1/searches/{search.hub_search_id}")
    if answer["status"] in (SearchState.QUEUED, SearchState.RUNNING):
        return False
    search.status, search.error = SearchState(answer["status"]), answer.get("error", "")
    search.candidates, search.n_references = answer["candidates"], answer["n_references"]
    search.finished_at = utcnow()
    return True


def fail_search(search_id: int, reason: Wording) -> None:
    """Record why this node gave a partner search up: its English for the API, its wording for
    the page (in the reader's language)."""
    search = db.session.get(PartnerSearch, search_id)
    if search is not None and search.status not in (SearchState.DONE, SearchState.FAILED):
        search.status, search.finished_at = SearchState.FAILED, utcnow()
        search.error, search.error_wording = english(reason), reason


# -- leads -----------------------------------------------------------------------------------


def request_lead(actor: User, search: PartnerSearch, record: int, note: str = ""
                 ) -> PartnerLead:
    """Our examiner asks the owning lab about a candidate (the software does not conclude)."""
    require_role(actor, REVIEW_CANDIDATES, "ask partner labs about candidates")
    candidate = next((c for c in search.candidates if c["record"] == record), None)
    if candidate is None:
        raise Unprocessable(_("Record %(record)s is not a candidate of partner search %(id)s.",
                              record=record, id=search.id),
                            fields={"record": [_("Not a candidate of this search.")]})
    if candidate["owner"] == node_lab().code:
        raise Unprocessable(_("That record is your own lab's."),
                            fields={"record": [_("Own record.")]})
    existing = db.session.scalar(select(PartnerLead).where(
        PartnerLead.lab_id == actor.lab_id, PartnerLead.search_id == search.id,
        PartnerLead.reference == candidate["reference"]))
    if existing is not None:
        raise Conflict(_("You already asked %(value)s about %(value2)s.", value=candidate['owner'],
                         value2=candidate['reference']),
                       code="already_asked")
    lead = PartnerLead(lab_id=actor.lab_id, direction=LeadDirection.OUTGOING,
                       partner_code=candidate["owner"], search_id=search.id,
                       reference=candidate["reference"], score=candidate["score"],
                       likelihood_ratio=candidate["likelihood_ratio"], note=note,
                       created_by_id=actor.id)
    db.session.add(lead)
    db.session.flush()
    post(Topic.HUB, "lead.request", {"lab": actor.lab_id, "lead": lead.id})
    enqueue("network.deliver")
    return lead


def answer_lead(actor: User, lead: PartnerLead, status: str, answer: str = "") -> PartnerLead:
    """Our examiner answers a partner's lead on one of our records."""
    require_role(actor, REVIEW_CANDIDATES, "answer partner leads")
    if lead.direction != LeadDirection.INCOMING:
        raise Conflict(_("Only the owning lab answers a lead."), code="not_owner")
    if lead.status not in (LeadStatus.OPEN, LeadStatus.EXHIBIT_REQUESTED):
        raise Conflict(_("Lead %(id)s is already %(value)s.", id=lead.id,
                         value=label(lead.status)),
                       code="lead_closed")
    if LeadStatus(status) == LeadStatus.DISCLOSED and not answer.strip():
        raise Unprocessable(_("Say what you disclose: a contact and your case reference."),
                            fields={"answer": [_("Required when you disclose.")]})
    lead.status, lead.answer = LeadStatus(status), answer
    lead.answered_by_id, lead.answered_at = actor.id, utcnow()
    post(Topic.HUB, "lead.answer", {"lab": actor.lab_id, "lead": lead.id})
    enqueue("network.deliver")
    return lead


def lead_in_lab(actor: User, lead_id: int) -> PartnerLead:
    lead = db.session.get(PartnerLead, lead_id)
    if lead is None or lead.lab_id != actor.lab_id:
        raise NotFound(_("No lead %(lead_id)s in your lab.", lead_id=lead_id))
    return lead


# -- the inbox -------------------------------------------------------------------------------


def pull(limit: int = 200) -> int:
    """Read the hub's events for this lab: leads for us, answers to our leads, expiries, and
    every search that returned our records (kept as who looked at our data)."""
    lab = node_lab()
    cursor = db.session.get(NodeCursor, lab.id) or NodeCursor(lab_id=lab.id, last_event_id=0)
    if cursor.last_event_id == 0:
        db.session.add(cursor)
    events = client.call("GET", f"/hub/v1/inbox?after={cursor.last_event_id}&limit={limit}")
    for event in events:
        _apply(lab, event)
        cursor.last_event_id = event["id"]
    return len(events)


def _apply(lab: Lab, event: dict) -> None:
    body, kind = event["body"], EventKind(event["kind"])
    occurred = datetime.fromisoformat(event["created_at"]).replace(tzinfo=None)
    if kind in (EventKind.TRANSFER, EventKind.RECEIPT):
        from ballistics.network import exchange

        if "proof" not in body:
            # Pulled again after the hub forgot what it relayed (it keeps only references
            # once the receipt reached the sender): this node recorded it the first time.
            return
        if kind == EventKind.TRANSFER:
            exchange.incoming(lab.id, lab.code, body)
        else:
            exchange.receipt_reported(lab.id, lab.code, body)
        return
    if kind == EventKind.ACCESS:
        db.session.add(NetworkAccess(lab_id=lab.id, hub_event_id=event["id"],
                                     kind=AccessKind.SEARCH, partner_code=body["partner"],
                                     references=body["references"], occurred_at=occurred))
        return
    if kind == EventKind.LEAD:
        shared = db.session.scalar(select(SharedScan).where(
            SharedScan.lab_id == lab.id, SharedScan.reference == body["reference"]))
        db.session.add(PartnerLead(
            lab_id=lab.id, direction=LeadDirection.INCOMING, hub_lead_id=body["lead"],
            partner_code=body["requester"], reference=body["reference"],
            scan_id=shared.scan_id if shared else None, score=body["score"],
            likelihood_ratio=body["likelihood_ratio"], note=body["note"],
            due_at=datetime.fromisoformat(body["due_at"]), created_at=occurred))
        db.session.add(NetworkAccess(lab_id=lab.id, hub_event_id=event["id"],
                                     kind=AccessKind.LEAD, partner_code=body["requester"],
                                     references=[body["reference"]], occurred_at=occurred))
        return
    direction = (LeadDirection.OUTGOING if body["requester"] == lab.code
                 else LeadDirection.INCOMING)
    lead = db.session.scalar(select(PartnerLead).where(
        PartnerLead.lab_id == lab.id, PartnerLead.direction == direction,
        PartnerLead.hub_lead_id == body["lead"]))
    if lead is None and direction == LeadDirection.OUTGOING:
        lead = db.session.get(PartnerLead, body["request_ref"])
    if lead is None:
        log.warning("hub event %s names unknown lead %s", event["id"], body["lead"])
        return
    lead.status, lead.answer = LeadStatus(body["status"]), body["answer"]
    if kind == EventKind.ANSWER:
        lead.answered_at = occurred
