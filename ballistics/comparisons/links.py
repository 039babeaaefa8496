"""Case links: their history, and their withdrawal by a reviewed correction.

A link is never deleted or edited away. Anyone who may conclude or manage asks for its
withdrawal with reasons; an independent technical reviewer authorised for the confirming SOP
(neither the requester nor the examiner) accepts or rejects it, with reasons. Both stay on
record; an accepted correction marks the link withdrawn. While a link stands, the items of its
examination are kept from destruction (a hold on :mod:`ballistics.evidence.holds`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import or_, select

from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.comparisons.models import (
    Candidate,
    CaseLink,
    CorrectionStatus,
    Decision,
    LinkCorrection,
)
from ballistics.comparisons.permissions import REQUEST_CORRECTIONS, VERIFY_CONFIRMATIONS
from ballistics.core import timeutil
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.core.labels import label
from ballistics.evidence.holds import Hold, HoldKind
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db
from sop.models import ExaminationItem
from sop.models.examinations import ReviewOutcome
from sop.services import examinations


def links_for_case(case: Case) -> list[CaseLink]:
    """Every link of the case, standing and withdrawn, oldest first."""
    return list(db.session.scalars(select(CaseLink).where(
        or_(CaseLink.case_a_id == case.id, CaseLink.case_b_id == case.id))
        .order_by(CaseLink.id)))


def pending_correction(link: CaseLink) -> LinkCorrection | None:
    return next((c for c in link.corrections if c.status == CorrectionStatus.PENDING), None)


def request_withdrawal(actor: User, link: CaseLink, *, reason: str) -> LinkCorrection:
    require_role(actor, REQUEST_CORRECTIONS, "ask for a case link to be withdrawn")
    if not link.is_active:
        raise Conflict(_("Link %(id)s was withdrawn on %(withdrawn_at)s.", id=link.id,
                         withdrawn_at=format(link.withdrawn_at, '%Y-%m-%d')),
                       code="link_withdrawn")
    pending = pending_correction(link)
    if pending is not None:
        raise Conflict(_("A correction of link %(id)s (#%(id2)s) is waiting for its review.",
                         id=link.id, id2=pending.id), code="correction_pending")
    row = LinkCorrection(lab_id=link.lab_id, link_id=link.id, reason=reason,
                         requested_by_id=actor.id, requested_at=timeutil.utcnow())
    db.session.add(row)
    db.session.flush()
    db.session.expire(link, ["corrections"])
    return row


def review_correction(actor: User, correction: LinkCorrection, *, outcome: str,
                      reasons: str) -> LinkCorrection:
    """An independent technical reviewer agrees (the link is withdrawn) or disagrees (it
    stands), with reasons either way."""
    require_role(actor, VERIFY_CONFIRMATIONS, "review corrections of case links")
    if correction.status != CorrectionStatus.PENDING:
        raise Conflict(_("Correction %(id)s was already %(status)s.", id=correction.id,
                         status=label(correction.status)),
                       code="correction_decided")
    link = correction.link
    exam = link.examination
    if actor.id == correction.requested_by_id or (exam and actor.id == exam.examiner_id):
        raise Forbidden(_("You asked for this correction or made the identification; an "
                          "independent reviewer decides it."), code="not_independent")
    now = timeutil.utcnow()
    if exam is not None:
        examinations.require_authorised_reviewer(actor, exam, now)
    if not reasons.strip():
        raise Unprocessable(_("Give the reasons for your decision."),
                            fields={"reasons": [_("Required.")]})
    correction.reviewed_by_id, correction.review_reasons = actor.id, reasons
    correction.reviewed_at = now
    if outcome != ReviewOutcome.AGREE:
        correction.status = CorrectionStatus.REJECTED
        db.session.flush()
        return correction
    correction.status = CorrectionStatus.ACCEPTED
    link.withdrawn_at = now
    link.withdrawal_note = (f"Withdrawn by correction {correction.id}: {correction.reason} "
                            f"(agreed by {actor.full_name}: {reasons})")
    # The lead goes back to the examiners, with the reason on it.
    candidate = db.session.get(Candidate, link.candidate_id)
    candidate.decision = Decision.POTENTIAL_LEAD
    candidate.decision_note = f"Case link {link.id} withdrawn: {correction.reason}"
    candidate.decided_by_id, candidate.decided_at = actor.id, now
    db.session.flush()
    return correction


def active_link_holds(items: Sequence[Item]) -> dict[int, list[Hold]]:
    """The items of a standing link's examination are the physical basis of the
    identification (a source of :mod:`ballistics.evidence.holds`: two queries for all
    ``items``, the links and their cases' numbers)."""
    rows = db.session.execute(
        select(ExaminationItem.item_id, CaseLink.id, CaseLink.case_a_id, CaseLink.case_b_id)
        .join(ExaminationItem, ExaminationItem.examination_id == CaseLink.examination_id)
        .where(ExaminationItem.item_id.in_([item.id for item in items]),
               CaseLink.withdrawn_at.is_(None))
        .order_by(ExaminationItem.item_id, CaseLink.id)).all()
    if not rows:
        return {}
    numbers = dict(db.session.execute(select(Case.id, Case.lab_case_number).where(
        Case.id.in_({case for row in rows for case in row[2:]}))).all())
    holds: dict[int, list[Hold]] = defaultdict(list)
    for item_id, link_id, a, b in rows:
        holds[item_id].append(Hold(HoldKind.CASE_LINK, _(
            "it grounds the identification linking cases %(cases)s (case link %(id)s); "
            "withdraw the link by a reviewed correction first",
            cases=" / ".join(numbers[case] for case in sorted({a, b})), id=link_id)))
    return holds
