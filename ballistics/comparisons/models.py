"""Comparison records. Feature sets are keyed by content and algorithm version, so the same
file is never processed twice; everything else belongs to one lab. A lead is confirmed by an
examination under the lab's hit-confirmation SOP (``sop``), and only its agreeing technical
review links two cases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ballistics.auth.models import User
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import said
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from sop.models import Examination, Sop


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class SearchStatus(StrEnum):
    QUEUED = "queued"
    RANKING = "ranking"      # stage 1: signatures
    COMPARING = "comparing"  # stage 2: full comparisons on the top K
    DONE = "done"
    FAILED = "failed"


class ScanFormat(StrEnum):
    X3P = "x3p"
    PNG = "png"
    TIFF = "tiff"


class Region(StrEnum):
    BREECH_FACE = "breech_face"
    FIRING_PIN = "firing_pin"


class SearchScope(StrEnum):
    #: the lab's own references
    LAB = "lab"
    #: what partner labs share through the regional hub
    REGION = "region"


class LinkConclusion(StrEnum):
    IDENTIFICATION = "identification"


class Decision(StrEnum):
    PENDING = "pending"
    NO_ASSOCIATION = "no_association"
    POTENTIAL_LEAD = "potential_lead"
    CONFIRMED = "confirmed"


class Scan(db.Model):
    __tablename__ = "scans"
    # A search's shard asks for one lab's scans in an id range: with (lab_id, id) that is one
    # index range whatever the planner's statistics (without them, a 1M-scan lab's shard read
    # every row of the lab: 1.4 s, against 35 ms; autovacuum may lag a bulk import).
    __table_args__ = (UniqueConstraint("item_id", "sha256"),
                      Index("ix_scans_lab_id_id", "lab_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    #: SHA-256 of the uploaded bytes: the file's name in the image store
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[ScanFormat] = mapped_column(db_enum(ScanFormat, length=10))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    pixel_um: Mapped[float] = mapped_column(Float)
    region: Mapped[Region] = mapped_column(db_enum(Region), default=Region.BREECH_FACE)
    # Class characteristics, used to filter references before ranking.
    calibre: Mapped[str] = mapped_column(String(40), default="", index=True)
    firing_pin_shape: Mapped[str] = mapped_column(String(40), default="")
    breech_face_class: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[ScanStatus] = mapped_column(db_enum(ScanStatus), default=ScanStatus.QUEUED,
                                               index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    #: the reason as its wording (:mod:`ballistics.core.wording`): pages say it in the reader's
    #: language; ``status_reason`` keeps the English for the API. None for reasons stored before
    status_wording: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    #: when the status last changed: the sweep finds scans stuck RUNNING by this
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: feature-extraction runs started for this scan (a stuck one is requeued a few times)
    attempts: Mapped[int] = mapped_column(default=0)
    #: kept as an open case: later entries are correlated against it automatically
    is_open_case: Mapped[bool] = mapped_column(default=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    features_at: Mapped[datetime | None]

    item: Mapped[Item] = relationship()
    uploaded_by: Mapped[User] = relationship()

    @property
    def status_said(self) -> str:
        """Why the scan is in its status, in the reader's language (the English of a reason
        stored without its wording)."""
        return said(self.status_wording) if self.status_wording else self.status_reason


class FeatureSet(db.Model):
    """Features of one file under one algorithm version (shared by scans of equal content)."""

    __tablename__ = "feature_sets"
    __table_args__ = (UniqueConstraint("sha256", "algorithm_version"),)
    __audit__ = False  # derived data, recomputable from the stored file

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    algorithm_version: Mapped[str] = mapped_column(String(40), index=True)
    #: float32 stage-1 signature, raw bytes
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: the full features (processed surface, mask, ...) as npz bytes
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class Search(db.Model):
    __tablename__ = "searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    query_scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), index=True)
    scope: Mapped[SearchScope] = mapped_column(db_enum(SearchScope, length=10),
                                               default=SearchScope.LAB)
    algorithm_version: Mapped[str] = mapped_column(String(40))
    #: how many top stage-1 references get a full comparison
    k: Mapped[int] = mapped_column(default=100)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[SearchStatus] = mapped_column(db_enum(SearchStatus),
                                                 default=SearchStatus.QUEUED)
    error: Mapped[str] = mapped_column(Text, default="")
    #: why it failed as its wording (pages say it in the reader's language; ``error`` keeps
    #: the English)
    error_wording: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    n_references: Mapped[int] = mapped_column(default=0)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    stage1_ms: Mapped[float | None] = mapped_column(Float)
    stage2_ms: Mapped[float | None] = mapped_column(Float)
    is_automatic: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the sweep last sent it again while it waited to start (None: never)
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    query_scan: Mapped[Scan] = relationship()
    candidates: Mapped[list[Candidate]] = relationship(order_by="Candidate.rank",
                                                       back_populates="search")

    @property
    def error_said(self) -> str:
        """Why the search failed, in the reader's language (see ``Scan.status_said``)."""
        return said(self.error_wording) if self.error_wording else self.error


class Candidate(db.Model):
    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("search_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    search_id: Mapped[int] = mapped_column(ForeignKey("searches.id"), index=True)
    rank: Mapped[int]
    reference_scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))
    signature_similarity: Mapped[float] = mapped_column(Float)
    #: the full comparison's combined score (what the list is ranked by)
    score: Mapped[float] = mapped_column(Float)
    cmc_count: Mapped[int]
    cmc_count_reverse: Mapped[int]
    pairwise_ccf: Mapped[float] = mapped_column(Float)
    #: None when the pair is outside the calibration's domain (``lr_note`` says why)
    likelihood_ratio: Mapped[float | None] = mapped_column(Float)
    #: why there is no LR, in English ("No likelihood ratio: ..."; empty with an LR)
    lr_note: Mapped[str] = mapped_column(Text, default="")
    #: the same sentence as its wording (``ballistics.core.wording``), said in the reader's
    #: language; None with an LR and on candidates stored before it was kept (0022)
    lr_wording: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    rotation_deg: Mapped[float] = mapped_column(Float)
    dx_px: Mapped[float] = mapped_column(Float)
    dy_px: Mapped[float] = mapped_column(Float)
    #: per-cell correlations for the overlay the examiner sees
    cells: Mapped[list] = mapped_column(JSON, default=list)
    decision: Mapped[Decision] = mapped_column(db_enum(Decision), default=Decision.PENDING)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    search: Mapped[Search] = relationship(back_populates="candidates")
    reference_scan: Mapped[Scan] = relationship()

    @property
    def lr_said(self) -> str:
        """Why there is no LR in the reader's language (the English note of a candidate stored
        without its wording); empty with an LR."""
        return said(self.lr_wording) if self.lr_wording else self.lr_note


class ConfirmationStatus(StrEnum):
    #: the examination is completed; no technical review has agreed yet
    AWAITING_REVIEW = "awaiting_review"
    #: the latest technical review agrees (an identification then links the cases)
    VERIFIED = "verified"
    #: the latest technical review disagrees; another review may follow, the record stays
    DISPUTED = "disputed"


class CorrectionStatus(StrEnum):
    PENDING = "pending"
    #: an independent reviewer agreed: the link is withdrawn
    ACCEPTED = "accepted"
    #: an independent reviewer disagreed: the link stands
    REJECTED = "rejected"


class ComparisonSettings(db.Model):
    """A lab's choices for hit confirmation (one row per lab, made on first save)."""

    __tablename__ = "comparison_settings"

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True,
                                        autoincrement=False)
    #: the SOP a lead is confirmed under (its version in force on the day is used)
    confirmation_sop_id: Mapped[int | None] = mapped_column(ForeignKey("sops.id"))
    #: verifiers record their own conclusion before they see the examiner's
    is_blind_verification: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None]

    confirmation_sop: Mapped[Sop | None] = relationship()


class Confirmation(db.Model):
    """An examiner's microscope comparison of a lead: an examination under the lab's
    hit-confirmation SOP, waiting for, or settled by, its technical review."""

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    examination_id: Mapped[int] = mapped_column(ForeignKey("examinations.id"), unique=True)
    status: Mapped[ConfirmationStatus] = mapped_column(
        db_enum(ConfirmationStatus), default=ConfirmationStatus.AWAITING_REVIEW, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the latest review last changed the status
    reviewed_at: Mapped[datetime | None]

    candidate: Mapped[Candidate] = relationship()
    examination: Mapped[Examination] = relationship()
    created_by: Mapped[User] = relationship()


class CaseLink(db.Model):
    """Two cases linked by an identification that an independent reviewer agreed with (shown on
    both case pages). A link is never deleted: a reviewed correction withdraws it."""

    __tablename__ = "case_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    case_a_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    case_b_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"))
    #: the confirming examination (None only for links recorded before confirmations were
    #: examinations; the migration withdrew those)
    examination_id: Mapped[int | None] = mapped_column(ForeignKey("examinations.id"),
                                                       unique=True)
    #: the agreeing technical review that created the link
    review_id: Mapped[int | None] = mapped_column(ForeignKey("examination_reviews.id"))
    conclusion: Mapped[LinkConclusion] = mapped_column(db_enum(LinkConclusion, length=40))
    #: the examiner
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the reviewer whose agreeing review created the link
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when an accepted correction withdrew the link (the row stays, as history)
    withdrawn_at: Mapped[datetime | None]
    withdrawal_note: Mapped[str] = mapped_column(Text, default="")

    case_a: Mapped[Case] = relationship(foreign_keys=[case_a_id])
    case_b: Mapped[Case] = relationship(foreign_keys=[case_b_id])
    examination: Mapped[Examination | None] = relationship()
    confirmed_by: Mapped[User] = relationship(foreign_keys=[confirmed_by_id])
    reviewed_by: Mapped[User] = relationship(foreign_keys=[reviewed_by_id])
    corrections: Mapped[list[LinkCorrection]] = relationship(order_by="LinkCorrection.id",
                                                             viewonly=True)

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class LinkCorrection(db.Model):
    """A request to withdraw a case link, with its reasons, decided by an independent
    technical reviewer. Kept whatever the decision, so the link's history shows both."""

    __tablename__ = "link_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("case_links.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[CorrectionStatus] = mapped_column(db_enum(CorrectionStatus),
                                                     default=CorrectionStatus.PENDING)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the reviewer's reasons (required whatever the decision)
    review_reasons: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None]

    link: Mapped[CaseLink] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
