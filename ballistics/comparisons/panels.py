"""What the evidence pages show of the comparison workflow, and the queries behind the
comparison pages. Registered as template globals, so the evidence package needs no import of
this one (comparisons depend on evidence, not the other way round)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ballistics.auth.access import lab_select
from ballistics.auth.models import User
from ballistics.comparisons import confirmations, forms, links, lists
from ballistics.comparisons.models import (
    Candidate,
    CaseLink,
    Confirmation,
    LinkCorrection,
    Scan,
    ScanStatus,
    Search,
)
from ballistics.comparisons.permissions import (
    REQUEST_CORRECTIONS,
    SCAN_AND_SEARCH,
    VERIFY_CONFIRMATIONS,
)
from ballistics.comparisons.scans import SCANNABLE
from ballistics.core.confirm import ask
from ballistics.core.errors import AppError
from ballistics.core.forms import PageForm
from ballistics.core.labels import label
from ballistics.core.numbers import number, significant
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from sop.models import Equipment
from sop.services.equipment import current_state
from sop.services.examinations import as_seen_by, is_blind_to, own_conclusion

#: statuses after which nothing changes by itself, so the page stops polling
FINAL = frozenset({ScanStatus.DONE, ScanStatus.FAILED})


@dataclass(frozen=True)
class ScanRow:
    scan: Scan
    searches: list[Search]


@dataclass(frozen=True)
class ItemScans:
    rows: list[ScanRow]
    upload: forms.ScanUploadForm | None
    search: forms.ButtonForm | None
    #: the item's searches shown (the newest few) and how many it has in all
    searches_shown: int = 0
    searches_total: int = 0


def item_scans(item: Item, upload: forms.ScanUploadForm | None = None) -> ItemScans | None:
    """The item page's scan section (None for items that are never scanned); ``upload`` is a
    refused upload form to show again with its messages."""
    if item.kind not in SCANNABLE:
        return None
    user: User = current_user
    scans = db.session.scalars(lab_select(Scan, user).where(Scan.item_id == item.id)
                               .order_by(Scan.id)).all()
    by_scan: dict[int, list[Search]] = {s.id: [] for s in scans}
    # An item searched hundreds of times lists only its newest searches; the search list,
    # filtered to the item, has them all.
    latest, total = lists.latest_for_item(user, item) if scans else ([], 0)
    for search in latest:
        by_scan[search.query_scan_id].append(search)
    may = user.has_role(*SCAN_AND_SEARCH)
    if upload is None and may:
        upload = forms.ScanUploadForm(formdata=None, calibre=item.calibre)
    return ItemScans([ScanRow(s, by_scan[s.id]) for s in scans], upload,
                     forms.ButtonForm(formdata=None) if may else None, len(latest), total)


@dataclass(frozen=True)
class LinkRow:
    other: Case
    link: CaseLink
    #: the confirmation whose review created the link (its full review record)
    confirmation: Confirmation | None
    pending: LinkCorrection | None
    #: forms this user may use now (None: not offered)
    correct: forms.CorrectionForm | None
    decide: forms.CorrectionReviewForm | None


def linked_cases(case: Case, bound: tuple[int, PageForm] | None = None) -> list[LinkRow]:
    """Every link of ``case`` (standing and withdrawn) with its history and the forms this user
    may use; ``bound`` is a refused form to show again (link id or correction id, form)."""
    user: User = current_user
    rows = []
    for link in links.links_for_case(case):
        pending = links.pending_correction(link)
        correct = decide = None
        if link.is_active and pending is None and user.has_role(*REQUEST_CORRECTIONS):
            correct = forms.CorrectionForm(formdata=None)
            if bound and isinstance(bound[1], forms.CorrectionForm) and bound[0] == link.id:
                correct = bound[1]
        if pending is not None and user.has_role(*VERIFY_CONFIRMATIONS) \
                and user.id != pending.requested_by_id:
            decide = forms.CorrectionReviewForm(formdata=None)
            if bound and isinstance(bound[1], forms.CorrectionReviewForm) \
                    and bound[0] == pending.id:
                decide = bound[1]
            ask(decide, forms.withdrawal_consequence(link))
        other = link.case_b if link.case_a_id == case.id else link.case_a
        confirmation = db.session.scalar(select(Confirmation).where(
            Confirmation.examination_id == link.examination_id)) if link.examination_id else None
        rows.append(LinkRow(other, link, confirmation, pending, correct, decide))
    return rows


@dataclass(frozen=True)
class ConfirmPanel:
    """The viewer's confirmation section."""

    #: every confirmation of the candidate, oldest first
    history: list[Confirmation]
    #: the one waiting for (or disputed in) its technical review
    current: Confirmation | None
    #: the user may not see the examiner's conclusion yet (blind verification)
    blind: bool
    form: forms.ConfirmForm | None
    #: why the examiner cannot confirm now, in words (no SOP chosen, an item destroyed, ...)
    problem: str


def _equipment(user: User) -> list[tuple[Equipment, str]]:
    rows = db.session.scalars(lab_select(Equipment, user).order_by(Equipment.code)).all()
    return [(eq, current_state(eq).label) for eq in rows]


def confirm_panel(candidate: Candidate, form: forms.ConfirmForm | None = None) -> ConfirmPanel:
    user: User = current_user
    history = confirmations.confirmations_of(candidate)
    current = next((c for c in history if c.status in confirmations.OPEN), None)
    blind = any(is_blind_to(c.examination, user) for c in history
                if c.status in confirmations.OPEN)
    problem = ""
    if forms.may_review(user) and candidate.decision == "potential_lead" and current is None:
        try:
            version = confirmations.confirmation_version(candidate.lab_id)
        except AppError as exc:
            version, problem = None, exc.message
        for item in (candidate.search.query_scan.item, candidate.reference_scan.item):
            if item.is_disposed:
                problem = _("Item %(barcode)s was %(status)s: it can no longer be examined, "
                            "so this lead cannot be confirmed at the microscope.",
                            barcode=item.barcode, status=label(item.status))
        if version is not None and not problem and form is None:
            form = forms.confirm_form(version, _equipment(user), bound=False)
    return ConfirmPanel(history, current, blind, form if not problem else None, problem)


def confirm_form_for(candidate: Candidate) -> forms.ConfirmForm:
    """The posted confirm form (its steps from the SOP version in force, if any)."""
    try:
        version = confirmations.confirmation_version(candidate.lab_id)
    except AppError:
        version = None
    return forms.confirm_form(version, _equipment(current_user), bound=True)


@dataclass(frozen=True)
class Verification:
    """What the review page shows one reviewer of one confirmation."""

    confirmation: Confirmation
    #: the examination as this user may see it (no conclusion while blind to it)
    exam: object
    blind: bool
    mine: object
    #: why this user cannot act (their own work, not a reviewer, settled), or ""
    cannot: str
    conclusion: forms.ConclusionForm | None
    review: forms.ReviewForm | None


def verification(row: Confirmation, bound: PageForm | None = None) -> Verification:
    user: User = current_user
    exam = row.examination
    cannot = ""
    if exam.examiner_id == user.id:
        cannot = _("This is your own examination: another reviewer verifies it.")
    elif not forms.may_verify(user):
        cannot = _("Only a technical reviewer verifies a confirmation.")
    elif row.status not in confirmations.OPEN:
        cannot = _("This confirmation is %(status)s.", status=label(row.status))
    blind = is_blind_to(exam, user)
    mine = own_conclusion(exam, user)
    conclusion = review_form = None
    if not cannot and exam.is_blind_review and mine is None:
        conclusion = bound if isinstance(bound, forms.ConclusionForm) \
            else forms.ConclusionForm(formdata=None)
    elif not cannot:
        review_form = bound if isinstance(bound, forms.ReviewForm) \
            else forms.ReviewForm(formdata=None)
    return Verification(row, as_seen_by(exam, user), blind, mine, cannot, conclusion,
                        review_form)


def candidates(search: Search) -> list[Candidate]:
    """A search's candidates with their reference items and cases loaded in three queries."""
    return db.session.scalars(
        lab_select(Candidate, current_user).where(Candidate.search_id == search.id)
        .order_by(Candidate.rank)
        .options(selectinload(Candidate.reference_scan).selectinload(Scan.item)
                 .selectinload(Item.case))).all()


def likelihood_ratio(value: float) -> Markup:
    """Readable LR: plain near 1, powers of ten beyond (the calibration's range is wide)."""
    if value >= 1000 or 0 < value < 0.001:
        mantissa, exponent = f"{value:.1e}".split("e")
        return Markup(f"{number(float(mantissa), 1)} &times; "  # noqa: S704 numbers only
                      f"10<sup>{int(exponent)}</sup>")
    return Markup(significant(value))  # noqa: S704 a number only
