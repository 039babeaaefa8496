"""Nonconformities (ISO/IEC 17025 §7.10 / §8.7) with corrective and preventive actions."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import ngettext

from ballistics.auth.access import colleague, require_role
from ballistics.auth.models import User
from ballistics.core import timeutil
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.extensions import db
from sop.models import CorrectiveAction, Finding, Nonconformity
from sop.models.quality import ActionKind, NonconformityStatus, Severity
from sop.permissions import MANAGE_QUALITY
from sop.services.references import next_reference


def open_nonconformity(actor: User, *, title: str, description: str = "",
                       severity: str = Severity.MAJOR, finding: Finding | None = None
                       ) -> Nonconformity:
    """Record a nonconformity, from a finding (its facts are copied: findings are refreshed,
    the nonconformity must keep what was seen; without a description, the finding's sentence in
    the reader's language) or from any other source."""
    require_role(actor, MANAGE_QUALITY, "record nonconformities")
    now = timeutil.utcnow()
    reference = next_reference(Nonconformity, actor.lab_id, f"NC-{now.year}-")
    nc = Nonconformity(lab_id=actor.lab_id, reference=reference, title=title,
                       description=description, severity=severity, raised_by_id=actor.id,
                       raised_at=now)
    if finding is not None:
        nc.rule_id, nc.examination_id = finding.rule_id, finding.examination_id
        nc.severity = (Severity.MAJOR if finding.severity == Severity.BLOCKING
                       else finding.severity)
        nc.description = description or finding.said
    db.session.add(nc)
    db.session.flush()
    return nc


def add_action(actor: User, nc: Nonconformity, *, kind: str, description: str, owner_id: int,
               due_on: date) -> CorrectiveAction:
    require_role(actor, MANAGE_QUALITY, "plan corrective actions")
    if nc.status == NonconformityStatus.CLOSED:
        raise Conflict(_("%(reference)s is closed.", reference=nc.reference), code="closed")
    owner = colleague(owner_id, actor, field="owner_id")
    action = CorrectiveAction(lab_id=nc.lab_id, nonconformity=nc, kind=kind,
                              description=description, owner_id=owner.id, due_on=due_on)
    db.session.add(action)
    nc.status = NonconformityStatus.ACTIONS_IN_PROGRESS
    db.session.flush()
    return action


def complete_action(actor: User, action: CorrectiveAction, *, note: str) -> CorrectiveAction:
    if action.owner_id != actor.id and not actor.has_role(*MANAGE_QUALITY):
        raise Forbidden(_("Only the action's owner or a lab manager can complete it."),
                        code="not_owner")
    if action.completed_at is not None:
        raise Conflict(_("Action %(id)s was completed on %(completed_at)s.", id=action.id,
                         completed_at=format(action.completed_at, '%Y-%m-%d')),
                       code="already_completed")
    action.completed_at, action.completion_note = timeutil.utcnow(), note
    db.session.flush()
    return action


def verify_action(actor: User, action: CorrectiveAction, *, is_effective: bool,
                  verification: str) -> CorrectiveAction:
    """Verify effectiveness; the verifier must not be the owner (independent check)."""
    require_role(actor, MANAGE_QUALITY, "verify corrective actions")
    if action.completed_at is None:
        raise Conflict(_("Action %(id)s is not completed yet.", id=action.id), code="not_completed")
    if action.owner_id == actor.id:
        raise Forbidden(_("You own this action; someone else must verify its effectiveness."),
                        code="own_action")
    if not verification.strip():
        raise Unprocessable(_("Describe how effectiveness was verified."),
                            fields={"verification": [_("Required.")]})
    action.is_effective, action.verification = is_effective, verification
    action.verified_by_id, action.verified_at = actor.id, timeutil.utcnow()
    if not is_effective:
        # Not effective: the action must be done again, so it is reopened for its owner.
        action.completed_at = None
    db.session.flush()
    return action


def _short(text: str, limit: int = 60) -> str:
    """The start of a long text, cut at a word, for a sentence that names it."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def close_nonconformity(actor: User, nc: Nonconformity, *, root_cause: str) -> Nonconformity:
    require_role(actor, MANAGE_QUALITY, "close nonconformities")
    if nc.status == NonconformityStatus.CLOSED:
        raise Conflict(_("%(reference)s is already closed.", reference=nc.reference), code="closed")
    if not any(a.kind == ActionKind.CORRECTIVE for a in nc.actions):
        raise Conflict(_("%(reference)s has no corrective action.", reference=nc.reference),
                       code="no_action")
    pending = [a for a in nc.actions if not a.is_effective]
    if pending:
        # named as the page lists them (by what they say; their ids are not shown)
        named = "; ".join(_("“%(text)s”", text=_short(a.description)) for a in pending)
        raise Conflict(ngettext("The action %(actions)s is not yet verified effective.",
                                "The actions %(actions)s are not yet verified effective.",
                                len(pending), actions=named),
                       code="actions_pending")
    nc.root_cause, nc.status = root_cause, NonconformityStatus.CLOSED
    nc.closed_by_id, nc.closed_at = actor.id, timeutil.utcnow()
    db.session.flush()
    return nc
