"""Reminders: authorisations about to expire and instruments about to fall due for calibration."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ballistics.auth.models import User, UserRole
from ballistics.auth.roles import Role
from ballistics.extensions import db
from sop.models import Authorisation, Sop
from sop.services.dashboard import calibration_status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reminder:
    kind: str  # "authorisation_expiring", "calibration_due", "calibration_overdue"
    lab_id: int
    subject: str
    due_on: str | None
    #: who should act: the examiner concerned and the lab's managers
    recipient_ids: tuple[int, ...]


def due_reminders(lab_id: int, today: date, days: int = 30) -> list[Reminder]:
    horizon = today + timedelta(days=days)
    managers = tuple(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(User.lab_id == lab_id, UserRole.role == Role.LAB_MANAGER,
               User.is_active_account.is_(True))))
    out = []
    for grant, name, code in db.session.execute(
            select(Authorisation, User.full_name, Sop.code)
            .join(User, User.id == Authorisation.user_id)
            .join(Sop, Sop.id == Authorisation.sop_id)
            .where(Authorisation.lab_id == lab_id, Authorisation.revoked_on.is_(None),
                   Authorisation.expires_on >= today, Authorisation.expires_on <= horizon)
            .order_by(Authorisation.expires_on)):
        out.append(Reminder("authorisation_expiring", lab_id,
                            f"{name}'s authorisation for {code} expires on {grant.expires_on}",
                            grant.expires_on.isoformat(), (grant.user_id, *managers)))
    due, _ = calibration_status(lab_id, today, horizon)
    for row in due:
        eq, state = row["equipment"], row["state"]
        when = state.due_on.isoformat() if state.due_on else None
        if state.usable:
            out.append(Reminder("calibration_due", lab_id, f"{eq.code} ({eq.name}) falls due for "
                                f"calibration on {when}", when, managers))
        else:
            out.append(Reminder("calibration_overdue", lab_id,
                                f"{eq.code} ({eq.name}) is out of service: it {state.reason}",
                                when, managers))
    return out


def send(reminders: list[Reminder]) -> list[dict]:
    """Deliver reminders. The installation has no mail or notification channel yet, so they go
    to the log (where the worker's log shipping picks them up) and are returned."""
    for r in reminders:
        log.warning("reminder lab=%s %s: %s (to users %s)", r.lab_id, r.kind, r.subject,
                    ",".join(map(str, r.recipient_ids)))
    return [asdict(r) for r in reminders]
