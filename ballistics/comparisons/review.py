"""The examiner's review of a candidate list. Scores suggest; only examiners conclude (at the
microscope: :mod:`ballistics.comparisons.confirmations`)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.comparisons.models import (
    Candidate,
    Confirmation,
    ConfirmationStatus,
    Decision,
    Scan,
)
from ballistics.comparisons.permissions import REVIEW_CANDIDATES
from ballistics.core.errors import Conflict
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db


def decide(actor: User, candidate: Candidate, decision: str, note: str = "") -> Candidate:
    """Mark a candidate as no association or potential lead (changeable until it goes to the
    microscope)."""
    require_role(actor, REVIEW_CANDIDATES, "review candidates")
    if candidate.decision == Decision.CONFIRMED:
        raise Conflict(_("This candidate was confirmed as an identification; it cannot be "
                         "re-marked."), code="already_confirmed")
    pending = db.session.scalar(select(Confirmation.examination_id).where(
        Confirmation.candidate_id == candidate.id,
        Confirmation.status.in_([ConfirmationStatus.AWAITING_REVIEW,
                                 ConfirmationStatus.DISPUTED])))
    if pending is not None:
        raise Conflict(_("Candidate %(rank)s is being verified (examination %(pending)s); it is "
                         "not re-marked meanwhile.", rank=candidate.rank, pending=pending),
                       code="confirmation_open")
    candidate.decision, candidate.decision_note = Decision(decision), note
    candidate.decided_by_id, candidate.decided_at = actor.id, utcnow()
    return candidate


def case_of_scan(scan_id: int) -> Case:
    return db.session.scalar(select(Case).join(Item, Item.case_id == Case.id)
                             .join(Scan, Scan.item_id == Item.id).where(Scan.id == scan_id))
