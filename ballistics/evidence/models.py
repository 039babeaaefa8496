"""Evidence models. An item's holder is derived from its custody events and guarded by an
optimistic version counter, so two simultaneous hand-overs cannot both win."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.append_only import append_only
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import said
from ballistics.extensions import db


class ItemKind(StrEnum):
    FIREARM = "firearm"
    CARTRIDGE_CASE = "cartridge_case"
    BULLET = "bullet"
    FRAGMENT = "fragment"
    MAGAZINE = "magazine"
    AMMUNITION = "ammunition"
    TEST_FIRE = "test_fire"
    OTHER = "other"


class ItemStatus(StrEnum):
    IN_CUSTODY = "in_custody"
    RELEASED = "released"
    DESTROYED = "destroyed"


class CustodyKind(StrEnum):
    RECEIVED = "received"
    TRANSFERRED = "transferred"
    STORED = "stored"
    CHECKED_OUT = "checked_out"
    RETURNED = "returned"
    SEALED = "sealed"
    UNSEALED = "unsealed"
    SAMPLED = "sampled"
    RELEASED = "released"
    DESTROYED = "destroyed"


class CaseCounter(db.Model):
    """Last lab case number issued per lab and year (locked while issuing the next)."""

    __tablename__ = "case_counters"
    __audit__ = False

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("lab_id", "year", "seq"),)
    #: the counter follows the case's items, each audited itself (and is raised by a Core
    #: statement the flush never sees): a case's audit entries stay its own facts
    __audit_skipped__ = frozenset({"item_count"})

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))  # uq (lab_id, year, seq)
    #: e.g. "JM-FL-2026-00042": lab code, year, per-lab-and-year sequence
    lab_case_number: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    #: the submitting agency's own reference
    agency_case_number: Mapped[str] = mapped_column(String(80), default="")
    submitting_agency: Mapped[str] = mapped_column(String(200))
    offence: Mapped[str] = mapped_column(String(200), default="")
    offence_date: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the number of the case's last top-level item: an intake takes the next one by raising it
    #: (``UPDATE ... RETURNING``, which also locks the row), so numbers are unique and gap-free
    item_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    items: Mapped[list[Item]] = relationship(back_populates="case", order_by="Item.id")
    created_by: Mapped[User] = relationship()


class StorageLocation(db.Model):
    __tablename__ = "storage_locations"
    __table_args__ = (UniqueConstraint("lab_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)


class Item(db.Model):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))  # uq (case_id, number)
    #: sub-items (e.g. test fires sampled from a firearm) point to their parent
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), index=True)
    #: "3" for the third item of a case, "3.1" for its first sub-item
    number: Mapped[str] = mapped_column(String(20))
    #: printed on the label (Code 128 / QR): "<lab case number>/<number>"
    barcode: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[ItemKind] = mapped_column(db_enum(ItemKind))
    #: in English when the lab wrote it (e.g. on a partner's exhibit received): the API,
    #: exports and searches read it
    description: Mapped[str] = mapped_column(Text, default="")
    #: the same description as its wording (:mod:`ballistics.core.wording`) when the lab wrote
    #: it, so pages say it in the reader's language; None for what a person typed
    description_wording: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    quantity: Mapped[int] = mapped_column(default=1)
    make: Mapped[str] = mapped_column(String(80), default="")
    model: Mapped[str] = mapped_column(String(80), default="")
    serial_number: Mapped[str] = mapped_column(String(80), default="")
    calibre: Mapped[str] = mapped_column(String(40), default="", index=True)
    is_serial_obliterated: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ItemStatus] = mapped_column(db_enum(ItemStatus), default=ItemStatus.IN_CUSTODY)
    # Current holder, derived from the last custody event (exactly one is set while in custody).
    holder_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    holder_location_id: Mapped[int | None] = mapped_column(ForeignKey("storage_locations.id"))
    holder_agency: Mapped[str | None] = mapped_column(String(200))
    #: number of custody events so far (the last event's seq)
    custody_seq: Mapped[int] = mapped_column(default=0)
    #: hash of the last custody event (the chain's head)
    custody_head: Mapped[str | None] = mapped_column(String(64))
    #: optimistic lock: every UPDATE checks and bumps it
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    case: Mapped[Case] = relationship(back_populates="items")
    parent: Mapped[Item | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Item]] = relationship(back_populates="parent", order_by="Item.id")
    holder_user: Mapped[User | None] = relationship()
    holder_location: Mapped[StorageLocation | None] = relationship()
    seals: Mapped[list[Seal]] = relationship(back_populates="item", order_by="Seal.id")
    events: Mapped[list[CustodyEvent]] = relationship(order_by="CustodyEvent.seq",
                                                      viewonly=True)

    @property
    def is_disposed(self) -> bool:
        return self.status != ItemStatus.IN_CUSTODY

    @property
    def intact_seal(self) -> Seal | None:
        return next((s for s in self.seals if s.is_intact), None)

    @property
    def description_said(self) -> str:
        """The description in the reader's language when the lab wrote it, else as typed."""
        return said(self.description_wording) if self.description_wording else self.description

    @property
    def holder_label(self) -> str:
        if self.holder_user is not None:
            return self.holder_user.full_name
        if self.holder_location is not None:
            return _("Storage %(code)s", code=self.holder_location.code)
        return self.holder_agency or "—"


class Seal(db.Model):
    __tablename__ = "seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    #: the number printed on the tamper-evident seal
    number: Mapped[str] = mapped_column(String(80))
    applied_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    broken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    broken_at: Mapped[datetime | None]
    broken_reason: Mapped[str | None] = mapped_column(Text)

    item: Mapped[Item] = relationship(back_populates="seals")

    @property
    def is_intact(self) -> bool:
        return self.broken_at is None


@append_only
class CustodyEvent(db.Model):
    """One link of an item's chain of custody. Never updated, never deleted."""

    __tablename__ = "custody_events"
    __table_args__ = (UniqueConstraint("item_id", "seq"),
                      Index("ix_custody_events_lab_occurred", "lab_id", "occurred_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))  # uq (item_id, seq)
    #: 1-based position in the item's chain
    seq: Mapped[int]
    kind: Mapped[CustodyKind] = mapped_column(db_enum(CustodyKind))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("storage_locations.id"))
    from_agency: Mapped[str | None] = mapped_column(String(200))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("storage_locations.id"))
    to_agency: Mapped[str | None] = mapped_column(String(200))
    #: who recorded the event
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: second person present (required for destruction)
    witness_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: kind-specific facts, e.g. seal number or the sub-item created
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    #: server time (UTC); clients cannot set it
    occurred_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    witness: Mapped[User | None] = relationship(foreign_keys=[witness_id])
    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    from_location: Mapped[StorageLocation | None] = relationship(foreign_keys=[from_location_id])
    to_location: Mapped[StorageLocation | None] = relationship(foreign_keys=[to_location_id])

    HASHED_FIELDS = ("lab_id", "item_id", "seq", "kind", "from_user_id", "from_location_id",
                     "from_agency", "to_user_id", "to_location_id", "to_agency", "actor_id",
                     "witness_id", "reason", "details")


class DisposalAction(StrEnum):
    RELEASE = "release"
    DESTROY = "destroy"


class OverrideReason(StrEnum):
    """Why a lab manager disposes of an item they do not hold (the list the override offers)."""

    #: the holder is away (leave, illness) for longer than the disposal can wait
    HOLDER_ABSENT = "holder_absent"
    #: the holder has left the lab
    HOLDER_LEFT = "holder_left"
    #: a court ordered the release or destruction by a date
    COURT_ORDER = "court_order"
    #: the retention period ended (disposal programme for items in storage)
    RETENTION_EXPIRED = "retention_expired"


OVERRIDE_REASONS = {OverrideReason.HOLDER_ABSENT: _l("The holder is absent"),
                    OverrideReason.HOLDER_LEFT: _l("The holder has left the lab"),
                    OverrideReason.COURT_ORDER: _l("Court order"),
                    OverrideReason.RETENTION_EXPIRED: _l("Retention period expired")}


class RequestStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class DisposalRequest(db.Model):
    """A lab manager's override to release or destroy an item they do not hold. Nothing happens
    to the item until a second person confirms; the confirmation appends the custody event."""

    __tablename__ = "disposal_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    action: Mapped[DisposalAction] = mapped_column(db_enum(DisposalAction))
    override_reason: Mapped[OverrideReason] = mapped_column(db_enum(OverrideReason))
    #: the circumstances in words (court order number, the holder's absence, ...)
    reason: Mapped[str] = mapped_column(Text)
    #: release: the agency receiving the item
    to_agency: Mapped[str] = mapped_column(String(200), default="")
    #: destruction: the second person present
    witness_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[RequestStatus] = mapped_column(db_enum(RequestStatus),
                                                  default=RequestStatus.PENDING)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: who confirmed or cancelled it, and when
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    #: the release or destruction event appended on confirmation
    event_id: Mapped[int | None] = mapped_column(ForeignKey("custody_events.id"))

    item: Mapped[Item] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    witness: Mapped[User | None] = relationship(foreign_keys=[witness_id])


@append_only
class CourtReport(db.Model):
    """A chain-of-custody report issued as a PDF: the canonical data it prints, kept so anyone
    holding a copy can fetch the data by the SHA-256 in its footer and compare. Never changed."""

    __tablename__ = "court_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    #: hex SHA-256 of ``data`` (UTF-8), printed in the PDF's footer
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: canonical JSON (sorted keys, no insignificant whitespace) of everything the PDF prints
    data: Mapped[str] = mapped_column(Text)
    generated_at: Mapped[datetime]
    generated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
