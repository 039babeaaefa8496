"""The examiner's review of a candidate list. Scores suggest; only examiners conclude."""

from __future__ import annotations

from sqlalchemy import select

from ballistics.auth.access import colleague, require_role
from ballistics.auth.models import User
from ballistics.auth.roles import Role
from ballistics.comparisons.models import Candidate, CaseLink, Decision, LinkConclusion, Scan
from ballistics.comparisons.permissions import REVIEW_CANDIDATES
from ballistics.core.errors import Conflict, Unprocessable
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db


def decide(actor: User, candidate: Candidate, decision: str, note: str = "") -> Candidate:
    """Mark a candidate as no association or potential lead (changeable until confirmed)."""
    require_role(actor, REVIEW_CANDIDATES, "review candidates")
    if candidate.decision == Decision.CONFIRMED:
        raise Conflict("This candidate was confirmed as an identification; it cannot be "
                       "re-marked.", code="already_confirmed")
    candidate.decision, candidate.decision_note = Decision(decision), note
    candidate.decided_by_id, candidate.decided_at = actor.id, utcnow()
    return candidate


def case_of_scan(scan_id: int) -> Case:
    return db.session.scalar(select(Case).join(Item, Item.case_id == Case.id)
                             .join(Scan, Scan.item_id == Item.id).where(Scan.id == scan_id))


def confirm(actor: User, candidate: Candidate, *, reviewer_id: int, conclusion: str,
            examination_ref: str = "") -> CaseLink | None:
    """Record an examiner's microscope identification of a potential lead, with its technical
    reviewer, and link the two cases."""
    require_role(actor, REVIEW_CANDIDATES, "confirm identifications")
    if candidate.decision != Decision.POTENTIAL_LEAD:
        raise Conflict("Only a candidate marked as a potential lead can be confirmed.",
                       code="not_a_lead")
    if conclusion != LinkConclusion.IDENTIFICATION:
        raise Unprocessable("A confirmation records an identification; record other "
                            "conclusions as no association.",
                            fields={"conclusion": ["Must be 'identification'."]})
    reviewer = colleague(reviewer_id, actor, field="reviewer_id")
    if reviewer.id == actor.id or not reviewer.has_role(Role.TECHNICAL_REVIEWER):
        raise Unprocessable("The technical reviewer must be another person with the technical "
                            "reviewer role.", fields={"reviewer_id": ["Not an independent "
                                                                      "technical reviewer."]})
    candidate.decision, candidate.decided_by_id = Decision.CONFIRMED, actor.id
    candidate.decided_at = utcnow()
    query_case = case_of_scan(candidate.search.query_scan_id)
    ref_case = case_of_scan(candidate.reference_scan_id)
    if query_case.id == ref_case.id:
        return None
    a, b = sorted((query_case.id, ref_case.id))
    link = db.session.scalar(select(CaseLink).where(CaseLink.case_a_id == a,
                                                    CaseLink.case_b_id == b))
    if link is None:
        link = CaseLink(lab_id=candidate.lab_id, case_a_id=a, case_b_id=b,
                        candidate_id=candidate.id, examination_ref=examination_ref,
                        conclusion=conclusion, confirmed_by_id=actor.id,
                        reviewed_by_id=reviewer.id)
        db.session.add(link)
    db.session.flush()
    return link


def links_for_case(case: Case) -> list[CaseLink]:
    return list(db.session.scalars(select(CaseLink).where(
        (CaseLink.case_a_id == case.id) | (CaseLink.case_b_id == case.id))))
