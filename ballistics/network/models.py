"""Regional network records.

At the **hub** (``APP_ROLE=hub``): member labs and their public keys, the nonces seen (replay
protection), the records labs share (features, signature, class characteristics, an opaque
reference, the owner's code, dates: never case numbers, item descriptions, names or images),
partner searches with their candidates, leads, and the access events each owner is told of.

At a **lab node** (``APP_ROLE=lab``): the lab's sharing policy and exclusions, what it has
shared, its partner searches, leads in both directions, and who looked at its data.

Both sets of tables exist in every database (one schema, one migration history); each role
uses its own.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import said
from ballistics.extensions import db


class MemberStatus(StrEnum):
    ACTIVE = "active"
    #: refused on every request from then on (keys compromised, lab left the network)
    REVOKED = "revoked"


class ShareMode(StrEnum):
    #: nothing leaves the lab
    NONE = "none"
    #: every partner lab may search what the rules select
    ALL = "all"
    #: only the partner labs named in the policy
    NAMED = "named"


class SearchState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LeadStatus(StrEnum):
    #: waiting for the owning lab's examiner
    OPEN = "open"
    #: the owner disclosed a contact and case reference
    DISCLOSED = "disclosed"
    #: the owner asks for the physical exhibit or a double cast first
    EXHIBIT_REQUESTED = "exhibit_requested"
    DECLINED = "declined"
    #: nobody answered in time
    EXPIRED = "expired"


class LeadDirection(StrEnum):
    #: a partner found our record
    INCOMING = "incoming"
    #: we found a partner's record
    OUTGOING = "outgoing"


class EventKind(StrEnum):
    #: a partner asks the member about one of its records
    LEAD = "lead"
    #: the owner answered the member's lead
    ANSWER = "answer"
    #: a lead passed its due date unanswered
    EXPIRED = "expired"
    #: a partner's search returned the member's records
    ACCESS = "access"
    #: a partner sends the member a physical exhibit (its release, with the ledger proof)
    TRANSFER = "transfer"
    #: the partner recorded the receipt of the member's exhibit
    RECEIPT = "receipt"


class TransferStatus(StrEnum):
    #: released here; waiting to reach the hub (outgoing)
    SENT = "sent"
    #: the hub has it; waiting for the partner's receipt (outgoing), or for the parcel to
    #: arrive (incoming)
    DELIVERED = "delivered"
    #: the partner (outgoing) or we (incoming) recorded the receipt
    RECEIVED = "received"
    #: the hub refused it (e.g. no such partner): the release stands, the link is missing
    REFUSED = "refused"


class AccessKind(StrEnum):
    #: a partner's search returned our record
    SEARCH = "search"
    #: a partner asked about our record (a lead)
    LEAD = "lead"
    #: we answered a lead (disclosed, asked for the exhibit, declined)
    ANSWER = "answer"


# -- hub -----------------------------------------------------------------------------------


class HubMember(db.Model):
    """A lab registered at the hub."""

    __tablename__ = "hub_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[MemberStatus] = mapped_column(db_enum(MemberStatus),
                                                 default=MemberStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")

    keys: Mapped[list[HubMemberKey]] = relationship(order_by="HubMemberKey.id",
                                                    back_populates="member")


class HubMemberKey(db.Model):
    """One of a member's Ed25519 public keys; rotation retires the old one (kept on record)."""

    __tablename__ = "hub_member_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("hub_members.id"), index=True)
    #: the RFC 9421 ``keyid``: "<lab code>:<8 hex digits of the key's SHA-256>"
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    member: Mapped[HubMember] = relationship(back_populates="keys")


class SeenNonce(db.Model):
    """Nonces of accepted requests, kept for the freshness window so a replay is refused."""

    __tablename__ = "hub_seen_nonces"
    __table_args__ = (UniqueConstraint("key_id", "nonce"),)
    __audit__ = False  # protocol state, not a lab record

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class HubRecord(db.Model):
    """A record a lab shares: what a search needs, nothing that names a case or a person."""

    __tablename__ = "hub_records"
    __table_args__ = (UniqueConstraint("owner_code", "record_id"),
                      Index("ix_hub_records_admissible", "algorithm_version", "region",
                            "calibre"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_code: Mapped[str] = mapped_column(String(16), index=True)
    #: the owner's own id for the record (its node maps it back to the scan)
    record_id: Mapped[int]
    #: what partners see: an opaque reference chosen by the owner
    reference: Mapped[str] = mapped_column(String(40))
    #: the owner's version; a delivery with an older or equal version is a duplicate
    version: Mapped[int]
    algorithm_version: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(20))
    calibre: Mapped[str] = mapped_column(String(40), default="")
    firing_pin_shape: Mapped[str] = mapped_column(String(40), default="")
    breech_face_class: Mapped[str] = mapped_column(String(40), default="")
    #: labs allowed to see it: ["*"] for every member, else their codes
    shared_with: Mapped[list] = mapped_column(JSON, default=list)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: the full features, stored once per content in hub_feature_blobs
    features_sha256: Mapped[str] = mapped_column(ForeignKey("hub_feature_blobs.sha256"))
    #: when the owner scanned it (from the owner), and when the hub received it
    scanned_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class HubFeatureBlob(db.Model):
    """Full features of shared records, once per content (stage 2 loads them by the top K)."""

    __tablename__ = "hub_feature_blobs"
    __audit__ = False  # derived data; the record that points to it is audited

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))


class HubSearch(db.Model):
    """A partner search run on the hub's workers for a requesting lab."""

    __tablename__ = "hub_searches"
    __table_args__ = (UniqueConstraint("requester_code", "request_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_code: Mapped[str] = mapped_column(String(16), index=True)
    #: the requester's own search id (idempotent submission)
    request_ref: Mapped[int]
    algorithm_version: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(20))
    calibre: Mapped[str] = mapped_column(String(40), default="")
    k: Mapped[int] = mapped_column(default=50)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    features: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    status: Mapped[SearchState] = mapped_column(db_enum(SearchState), default=SearchState.QUEUED)
    error: Mapped[str] = mapped_column(Text, default="")
    n_references: Mapped[int] = mapped_column(default=0)
    #: [{"record": hub record id, "owner": code, "reference": ..., "score", "lr", "lr_note",
    #: "lr_wording" (why no LR, in English and as its wording), ...}]
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when a delivery of ``network.hub_run_search`` claimed stage 1 (the sweep counts from it)
    started_at: Mapped[datetime | None]
    #: when stage 1 closed and the comparisons were dispatched: set once, so a redelivered
    #: callback sees its chord was started already
    ranked_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class HubLead(db.Model):
    """A requesting lab's examiner asks the owner about a candidate; the owner answers."""

    __tablename__ = "hub_leads"
    __table_args__ = (UniqueConstraint("requester_code", "request_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("hub_searches.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("hub_records.id"))
    requester_code: Mapped[str] = mapped_column(String(16), index=True)
    #: the requester's own lead id (idempotent)
    request_ref: Mapped[int]
    owner_code: Mapped[str] = mapped_column(String(16), index=True)
    score: Mapped[float] = mapped_column(Float)
    likelihood_ratio: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[LeadStatus] = mapped_column(db_enum(LeadStatus), default=LeadStatus.OPEN)
    #: what the owner chose to disclose (a contact, a case reference), or why not
    answer: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]

    record: Mapped[HubRecord] = relationship()


class HubEvent(db.Model):
    """What a member lab must be told and pulls from its inbox: a lead for it, an answer to
    its lead, a search that returned its records. Positions per member are its cursor."""

    __tablename__ = "hub_events"
    __table_args__ = (Index("ix_hub_events_member_id", "member_code", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[EventKind] = mapped_column(db_enum(EventKind))
    body: Mapped[dict] = mapped_column(JSON, default=dict)
    #: what is relayed once and then forgotten (a transfer's description and proofs, with the
    #: sender's note and the events' free text): delivered with the body, dropped once the
    #: exhibit's receipt has reached its sender; redacted in the hub's audit log, whose entries
    #: cannot be dropped
    payload: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __audit_redacted__ = frozenset({"payload"})

    @property
    def delivery(self) -> dict:
        """The body as the member receives it (with the payload while the hub keeps it)."""
        return self.body | self.payload if self.payload else self.body


# -- lab node ------------------------------------------------------------------------------


class SharePolicy(db.Model):
    """What the lab shares with the region, decided by its manager."""

    __tablename__ = "share_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), unique=True)
    mode: Mapped[ShareMode] = mapped_column(db_enum(ShareMode), default=ShareMode.NONE)
    #: partner lab codes (mode "named")
    partners: Mapped[list] = mapped_column(JSON, default=list)
    #: rules; a scan is shared when its case matches any (empty: every open-case scan), e.g.
    #: {"offence_contains": ["trafficking"], "agency_contains": ["border"]}
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShareExclusion(db.Model):
    """A case (e.g. a sealed investigation) or one scan (a withdrawn record) never shared,
    whatever the policy says, until a manager lifts it (the judge unseals the case, a record
    was withdrawn by mistake): the row stays, with who lifted it, when and why."""

    __tablename__ = "share_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class SharedScan(db.Model):
    """A scan this lab has published to the hub (or withdrawn); its version orders deliveries."""

    __tablename__ = "shared_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), unique=True)
    #: the opaque reference partners see, e.g. "DEMO-7K2Q9X"
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    shared_with: Mapped[list] = mapped_column(JSON, default=list)
    is_withdrawn: Mapped[bool] = mapped_column(default=False)
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class PartnerSearch(db.Model):
    """A search of one of our scans against the regional pool, run by the hub."""

    __tablename__ = "partner_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), index=True)
    k: Mapped[int] = mapped_column(default=50)
    status: Mapped[SearchState] = mapped_column(db_enum(SearchState), default=SearchState.QUEUED)
    error: Mapped[str] = mapped_column(Text, default="")
    #: ``error`` as its wording (:mod:`ballistics.core.wording`) when this node wrote it (the
    #: hub unreachable, no answer in time), so the page says it in the reader's language; None
    #: for the hub's own reasons and searches failed before it was kept (0025)
    error_wording: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    hub_search_id: Mapped[int | None]
    n_references: Mapped[int] = mapped_column(default=0)
    #: the hub's answer: owner code, opaque reference, score, LR; never more
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def error_said(self) -> str:
        """Why it failed, in the reader's language (the stored English without a wording)."""
        return said(self.error_wording) if self.error_wording else self.error


class PartnerLead(db.Model):
    """A lead as this lab sees it: one we asked (outgoing) or one asked of us (incoming)."""

    __tablename__ = "partner_leads"
    __table_args__ = (UniqueConstraint("lab_id", "direction", "hub_lead_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    direction: Mapped[LeadDirection] = mapped_column(db_enum(LeadDirection))
    #: the hub's id once the hub has it (outgoing leads wait for delivery)
    hub_lead_id: Mapped[int | None]
    #: the other lab
    partner_code: Mapped[str] = mapped_column(String(16))
    #: outgoing: our search and the candidate's opaque reference; incoming: our scan
    search_id: Mapped[int | None] = mapped_column(ForeignKey("partner_searches.id"))
    reference: Mapped[str] = mapped_column(String(40), default="")
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    likelihood_ratio: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[LeadStatus] = mapped_column(db_enum(LeadStatus), default=LeadStatus.OPEN)
    answer: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class NetworkAccess(db.Model):
    """Who looked at our data: one row per hub event about our records."""

    __tablename__ = "network_accesses"
    __table_args__ = (UniqueConstraint("lab_id", "hub_event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    hub_event_id: Mapped[int]
    kind: Mapped[AccessKind] = mapped_column(db_enum(AccessKind))
    partner_code: Mapped[str] = mapped_column(String(16))
    #: our references involved
    references: Mapped[list] = mapped_column(JSON, default=list)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class NodeCursor(db.Model):
    """How far this lab has read its hub inbox."""

    __tablename__ = "network_cursors"
    __audit__ = False

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True,
                                        autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(default=0)


# -- interchange (x3p export and import) -------------------------------------------------------


class ImportedScan(db.Model):
    """Where a reference scan imported from another system came from: who scanned it, with
    which system, the original file's hash, and who imported it when. The file itself is kept
    unchanged in the image store under that hash (the scan's ``sha256``), so the provenance
    can always be checked against it."""

    __tablename__ = "imported_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), unique=True)
    #: SHA-256 of the file exactly as received
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_filename: Mapped[str] = mapped_column(String(255))
    #: the organisation the file came from, as the importer states it (e.g. a partner's code)
    source_lab: Mapped[str] = mapped_column(String(200))
    #: from the file's Record2: who measured (Creator) and when (Date)
    scanned_by: Mapped[str] = mapped_column(String(200), default="")
    measured_at: Mapped[str] = mapped_column(String(40), default="")
    #: the measuring system: manufacturer, model and version as the file names them
    system: Mapped[str] = mapped_column(String(300), default="")
    instrument_serial: Mapped[str] = mapped_column(String(120), default="")
    calibration_date: Mapped[str] = mapped_column(String(40), default="")
    #: the whole Record2 as read, and the file's lateral resolution (µm)
    record2: Mapped[dict] = mapped_column(JSON, default=dict)
    pixel_um_x: Mapped[float] = mapped_column(Float)
    pixel_um_y: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- physical exchange -----------------------------------------------------------------------


class HubTransfer(db.Model):
    """A physical exhibit sent between two member labs: the hub relays the release to the
    receiver and the receipt back, and keeps only the references of both ledger events."""

    __tablename__ = "hub_transfers"
    __table_args__ = (UniqueConstraint("sender_code", "transfer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the sender's id for the transfer (also in its release event)
    transfer_id: Mapped[str] = mapped_column(String(40))
    sender_code: Mapped[str] = mapped_column(String(16), index=True)
    receiver_code: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[TransferStatus] = mapped_column(db_enum(TransferStatus),
                                                   default=TransferStatus.DELIVERED)
    #: the sender's release event: its hash and position in the sender's ledger
    release_hash: Mapped[str] = mapped_column(String(64))
    release_leaf_index: Mapped[int]
    #: the receiver's receipt event, once recorded
    receipt_hash: Mapped[str | None] = mapped_column(String(64))
    receipt_leaf_index: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]
    #: when the receipt reached the sender and the relayed payloads were dropped
    relayed_at: Mapped[datetime | None]


class ExhibitTransfer(db.Model):
    """A physical exhibit this lab sent to a partner (outgoing: our release event) or a partner
    sent to us (incoming: their release, proven in their ledger, and our receipt event)."""

    __tablename__ = "exhibit_transfers"
    __table_args__ = (UniqueConstraint("lab_id", "direction", "partner_code", "transfer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    direction: Mapped[LeadDirection] = mapped_column(db_enum(LeadDirection))
    transfer_id: Mapped[str] = mapped_column(String(40))
    partner_code: Mapped[str] = mapped_column(String(16))
    status: Mapped[TransferStatus] = mapped_column(db_enum(TransferStatus),
                                                   default=TransferStatus.SENT)
    #: what the parcel holds, as the sender describes it (kind, calibre, seal number, note)
    item_kind: Mapped[str] = mapped_column(String(40))
    calibre: Mapped[str] = mapped_column(String(40), default="")
    seal_number: Mapped[str] = mapped_column(String(80), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: our item: the one released (outgoing) or the one received (incoming)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    #: the release event (ours, or the sender's as proven to us)
    release_event_id: Mapped[int | None]
    release_hash: Mapped[str] = mapped_column(String(64), default="")
    release_leaf_index: Mapped[int | None]
    #: the proof of the release in the sender's ledger (leaf data, inclusion proof, the signed
    #: checkpoint and the sender's ledger key as the hub registered it), and what checking it
    #: here found
    release_proof: Mapped[dict] = mapped_column(JSON, default=dict)
    release_verified: Mapped[bool] = mapped_column(default=False)
    #: what checking the release (incoming) or the receipt (outgoing) found, in English (the
    #: API gives it)
    verification: Mapped[str] = mapped_column(Text, default="")
    #: the same as its wording (:mod:`ballistics.core.wording`), so pages say it in the
    #: reader's language; None on transfers checked before it was kept (0024)
    verification_wording: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    #: the receipt event (ours, or the receiver's as reported)
    receipt_event_id: Mapped[int | None]
    receipt_hash: Mapped[str] = mapped_column(String(64), default="")
    receipt_leaf_index: Mapped[int | None]
    #: outgoing: the proof of the partner's receipt in its ledger, and what checking it found
    receipt_proof: Mapped[dict] = mapped_column(JSON, default=dict)
    receipt_verified: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")

    @property
    def verification_said(self) -> str:
        """What checking found, in the reader's language (the stored English on transfers
        without a wording)."""
        return said(self.verification_wording) if self.verification_wording else self.verification
