"""Document control: SOPs, versions through draft → in review → approved → effective →
superseded/retired, and read-and-acknowledge."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from ballistics.auth.access import lab_select, require_role
from ballistics.auth.models import User
from ballistics.core import timeutil
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.core.labels import label
from ballistics.extensions import db
from sop.models import Sop, SopAcknowledgement, SopStep, SopVersion, VersionStatus
from sop.permissions import ACKNOWLEDGE_SOPS, MANAGE_QUALITY


def create_sop(actor: User, *, code: str, title: str, discipline: str = "firearms") -> Sop:
    require_role(actor, MANAGE_QUALITY, "manage SOPs")
    if db.session.scalar(lab_select(Sop, actor).where(Sop.code == code)) is not None:
        raise Conflict(_("SOP %(code)s already exists in your lab.", code=code),
                       fields={"code": [_("Already in use in your lab.")]})
    sop = Sop(lab_id=actor.lab_id, code=code, title=title, discipline=discipline)
    db.session.add(sop)
    db.session.flush()
    return sop


def add_version(sop: Sop, *, author: User | None, summary: str = "", body: str = "",
                turnaround_days: int | None = None, review_due: date | None = None,
                steps: list[dict] | tuple = (), source: str = "") -> SopVersion:
    """A new draft version (the next number) with its required steps."""
    number = 1 + max((v.number for v in sop.versions), default=0)
    version = SopVersion(lab_id=sop.lab_id, sop=sop, number=number, summary=summary, body=body,
                         turnaround_days=turnaround_days, review_due=review_due,
                         author_id=author.id if author else None, source=source,
                         status=VersionStatus.DRAFT)
    for position, step in enumerate(steps, start=1):
        _check_range(step, position)
        version.steps.append(SopStep(lab_id=sop.lab_id, position=position, **step))
    db.session.add(version)
    db.session.flush()
    return version


def _check_range(step: dict, position: int) -> None:
    low, high = step.get("min_value"), step.get("max_value")
    if low is not None and high is not None and low > high:
        raise Unprocessable(_("Step %(position)s: min_value is above max_value.",
                              position=position),
                            fields={f"steps.{position - 1}.min_value": [_("Above max_value.")]})


def create_version(actor: User, sop: Sop, **fields) -> SopVersion:
    require_role(actor, MANAGE_QUALITY, "write SOP versions")
    return add_version(sop, author=actor, **fields)


def submit_for_review(actor: User, version: SopVersion) -> SopVersion:
    """Send a draft for review: from now on it is read as it stands and approved (or not) by a
    manager other than its author."""
    require_role(actor, MANAGE_QUALITY, "send SOP versions for review")
    if version.status != VersionStatus.DRAFT:
        raise Conflict(_("%(label)s is %(value)s; only a draft is sent for review.",
                         label=version.label, value=label(version.status)),
                       code="not_draft")
    version.status = VersionStatus.IN_REVIEW
    db.session.flush()
    return version


def approve_version(actor: User, version: SopVersion) -> SopVersion:
    """Approve a version in review; the approver must not be its author (four-eyes
    principle)."""
    require_role(actor, MANAGE_QUALITY, "approve SOP versions")
    if version.author_id == actor.id:
        raise Forbidden(_("You wrote %(label)s; another manager must approve it.",
                          label=version.label),
                        code="own_version")
    if version.status != VersionStatus.IN_REVIEW:
        raise Conflict(_("%(label)s is %(status)s; only a version sent for review can be "
                         "approved.", label=version.label,
                         status=label(version.status)), code="not_in_review")
    version.status = VersionStatus.APPROVED
    version.approved_by_id, version.approved_at = actor.id, timeutil.utcnow()
    db.session.flush()
    return version


def activate_version(actor: User, version: SopVersion, *, effective_from: date | None = None,
                     review_due: date | None = None) -> SopVersion:
    """Put an approved version in force from a date (today by default); the version in force
    until then is superseded from that same date."""
    require_role(actor, MANAGE_QUALITY, "put SOP versions in force")
    if version.status != VersionStatus.APPROVED:
        raise Conflict(_("%(label)s is %(status)s; only an approved version can be made "
                         "effective.", label=version.label, status=label(version.status)),
                       code="not_approved")
    # the lab's days: put in force at 20:00 in Bogota, it is in force from that day, and an
    # approval at 01:00 UTC on the 3rd was given on the 2nd there
    lab = actor.lab
    start = effective_from or lab.today()
    if start < lab.day_of(version.approved_at):
        raise Unprocessable(_("A version cannot be in force before it was approved."),
                            fields={"effective_from": [_("Before the approval date.")]})
    for other in version.sop.versions:
        if other.id != version.id and other.status == VersionStatus.EFFECTIVE:
            other.status = VersionStatus.SUPERSEDED
            other.effective_until = max(start, other.effective_from)
    version.status, version.effective_from = VersionStatus.EFFECTIVE, start
    if review_due is not None:
        version.review_due = review_due
    db.session.flush()
    return version


def retire_version(actor: User, version: SopVersion) -> SopVersion:
    require_role(actor, MANAGE_QUALITY, "retire SOP versions")
    if version.status not in (VersionStatus.EFFECTIVE, VersionStatus.APPROVED):
        raise Conflict(_("%(label)s is %(status)s; it cannot be retired.", label=version.label,
                         status=label(version.status)),
                       code="not_in_force")
    version.status = VersionStatus.RETIRED
    version.effective_until = actor.lab.today()
    db.session.flush()
    return version


def acknowledge(actor: User, version: SopVersion) -> SopAcknowledgement:
    """Record that the actor read this version (once; a repeat answers 409)."""
    require_role(actor, ACKNOWLEDGE_SOPS, "acknowledge SOPs")
    if version.status not in (VersionStatus.APPROVED, VersionStatus.EFFECTIVE):
        raise Conflict(_("%(label)s is %(status)s; only an approved or effective version can be "
                         "acknowledged.", label=version.label, status=label(version.status)),
                       code="not_acknowledgeable")
    exists = db.session.scalar(select(SopAcknowledgement).where(
        SopAcknowledgement.version_id == version.id, SopAcknowledgement.user_id == actor.id))
    if exists is not None:
        raise Conflict(_("You acknowledged %(label)s on %(acknowledged_at)s.", label=version.label,
                         acknowledged_at=format_date(actor.lab.day_of(exists.acknowledged_at))),
                       code="already_acknowledged")
    ack = SopAcknowledgement(lab_id=actor.lab_id, version_id=version.id, user_id=actor.id,
                             acknowledged_at=timeutil.utcnow())
    db.session.add(ack)
    db.session.flush()
    return ack


def acknowledgements(version: SopVersion) -> tuple[list[tuple[User, SopAcknowledgement]],
                                                   list[User]]:
    """Who in the version's lab has read and acknowledged it (with when), and who of those
    expected to (active members whose role reads SOPs) has not yet."""
    acks = {a.user_id: a for a in db.session.execute(select(SopAcknowledgement).where(
        SopAcknowledgement.lab_id == version.lab_id,
        SopAcknowledgement.version_id == version.id)).scalars()}
    members = db.session.execute(select(User).where(User.lab_id == version.lab_id)
                                 .order_by(User.full_name)).scalars().all()
    done = [(u, acks[u.id]) for u in members if u.id in acks]
    pending = [u for u in members if u.id not in acks and u.is_active
               and u.has_role(*ACKNOWLEDGE_SOPS)]
    return done, pending
