"""The hub's dashboard figures: per member, leads by status, and turnaround from a record's
entry to a lead and from a lead to its answer, against the 24-48 h expected of leads."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import func, select

from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.network.models import HubLead, HubMember, HubRecord, HubSearch, LeadStatus


@dataclass(frozen=True)
class MemberRow:
    member: HubMember
    shared: int
    withdrawn: int
    searches: int
    leads_asked: int
    leads_received: int


@dataclass(frozen=True)
class Dashboard:
    members: list[MemberRow]
    leads_by_status: dict[str, int]
    #: unanswered past their due date: open, or already expired by the hourly task
    overdue: list[HubLead]
    #: hours, median and 90th percentile (None without data)
    entry_to_lead: tuple[float | None, float | None]
    lead_to_answer: tuple[float | None, float | None]
    answered_within_48h: float | None
    searches: int


def _hours(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def _count(stmt) -> dict[str, int]:
    return dict(db.session.execute(stmt).all())


def build() -> Dashboard:
    shared = _count(select(HubRecord.owner_code, func.count()).where(
        HubRecord.withdrawn_at.is_(None)).group_by(HubRecord.owner_code))
    withdrawn = _count(select(HubRecord.owner_code, func.count()).where(
        HubRecord.withdrawn_at.is_not(None)).group_by(HubRecord.owner_code))
    searches = _count(select(HubSearch.requester_code, func.count())
                      .group_by(HubSearch.requester_code))
    asked = _count(select(HubLead.requester_code, func.count()).group_by(HubLead.requester_code))
    received = _count(select(HubLead.owner_code, func.count()).group_by(HubLead.owner_code))
    members = [MemberRow(m, shared.get(m.code, 0), withdrawn.get(m.code, 0),
                         searches.get(m.code, 0), asked.get(m.code, 0), received.get(m.code, 0))
               for m in db.session.scalars(select(HubMember).order_by(HubMember.code))]
    leads = db.session.scalars(select(HubLead).order_by(HubLead.id)).all()
    now = utcnow()
    answered = [x for x in leads if x.answered_at is not None]
    return Dashboard(
        members=members,
        leads_by_status={s.value: sum(x.status == s for x in leads) for s in LeadStatus},
        overdue=[x for x in leads if x.status in (LeadStatus.OPEN, LeadStatus.EXPIRED)
                 and x.due_at < now],
        entry_to_lead=_hours([(x.created_at - x.record.received_at).total_seconds() / 3600
                              for x in leads]),
        lead_to_answer=_hours([(x.answered_at - x.created_at).total_seconds() / 3600
                               for x in answered]),
        answered_within_48h=(sum((x.answered_at - x.created_at).total_seconds() <= 48 * 3600
                                 for x in answered) / len(answered)) if answered else None,
        searches=sum(searches.values()))
