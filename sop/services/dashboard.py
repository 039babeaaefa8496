"""The manager's view and the audit export: aggregates over stored findings, a fixed handful
of queries whatever the number of examinations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, case, func, literal, select

from ballistics.auth.models import User
from ballistics.core.timeutil import day_range_utc, day_start_utc
from ballistics.evidence.models import Case
from ballistics.extensions import db
from sop.models import (
    Authorisation,
    CalibrationRecord,
    Equipment,
    Examination,
    Finding,
    Nonconformity,
    Sop,
    SopVersion,
)
from sop.models.quality import NonconformityStatus
from sop.services.calibration import state_on
from sop.services.compliance.registry import all_rules

HORIZON_DAYS = 30
#: findings listed on the dashboard; the rest are reached by filtering on a rule or exporting
FINDINGS_SHOWN = 15


@dataclass
class Period:
    """Whole days ``start`` to ``end`` as the lab's calendar has them (its time zone ``zone``):
    an examination at 23:30 on 31 March in Bogota is March's, though it is 1 April in UTC."""

    start: date
    end: date  # inclusive
    zone: str = "UTC"

    @classmethod
    def default(cls, today: date, zone: str = "UTC") -> Period:
        """The last twelve calendar months, this one included (``today``: the lab's date)."""
        year, month = (today.year, today.month - 11) if today.month == 12 else (
            today.year - 1, today.month + 1)
        return cls(date(year, month, 1), today, zone)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as a half-open range of stored (naive UTC) times."""
        return day_range_utc(self.start, self.end, self.zone)

    def month_starts(self) -> list[tuple[str, datetime]]:
        """Each month the period touches ("YYYY-MM") with the UTC instant it begins in the
        lab's zone, in order."""
        first, starts = self.start.replace(day=1), []
        while first <= self.end:
            starts.append((f"{first:%Y-%m}", day_start_utc(first, self.zone)))
            first = (first + timedelta(days=32)).replace(day=1)
        return starts


def _month(column, period: Period):
    """The lab's month ("YYYY-MM") of a stored UTC time within ``period``: the latest month
    whose local start it has reached. A CASE over instants computed here, so neither database
    needs the zone (SQLite has no time zones) and a month is the lab's, not UTC's."""
    starts = period.month_starts()
    whens = [(column >= at, label) for label, at in reversed(starts[1:])]
    first = literal(starts[0][0])
    return (case(*whens, else_=first) if whens else first).label("month")


def _in_period(lab_id: int, period: Period):
    low, high = period.bounds()
    return and_(Examination.lab_id == lab_id, Examination.performed_at >= low,
                Examination.performed_at < high)


@dataclass
class Dashboard:
    period: Period
    total: int
    compliant: int
    by_rule: list[dict] = field(default_factory=list)
    by_month: list[dict] = field(default_factory=list)
    open_findings: list = field(default_factory=list)
    open_findings_total: int = 0
    expiring_authorisations: list = field(default_factory=list)
    calibrations_due: list = field(default_factory=list)
    out_of_service: list = field(default_factory=list)
    open_nonconformities: list = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.compliant / self.total if self.total else None


def compliance_rates(lab_id: int, period: Period) -> tuple[int, int, list[dict], list[dict]]:
    """Totals, the rate per rule and the rate per month of the lab's calendar (3 queries)."""
    month = _month(Examination.performed_at, period)
    # grouped by the label: the CASE's bound instants would not compare equal as repeated
    exams = dict(db.session.execute(select(month, func.count(Examination.id))
                                    .select_from(Examination).where(_in_period(lab_id, period))
                                    .group_by(month.name)).all())
    flagged = dict(db.session.execute(
        select(month, func.count(func.distinct(Finding.examination_id))).select_from(Examination)
        .join(Finding, Finding.examination_id == Examination.id)
        .where(_in_period(lab_id, period)).group_by(month.name)).all())
    per_rule = dict(db.session.execute(
        select(Finding.rule_id, func.count(Finding.id))
        .join(Examination, Finding.examination_id == Examination.id)
        .where(_in_period(lab_id, period)).group_by(Finding.rule_id)).all())
    total = sum(exams.values())
    compliant = total - sum(flagged.values())
    by_rule = [{"rule": r, "broken": per_rule.get(r.id, 0),
                "rate": 1 - per_rule.get(r.id, 0) / total if total else None}
               for r in all_rules()]
    by_month = [{"month": m, "examinations": n, "with_findings": flagged.get(m, 0),
                 "rate": 1 - flagged.get(m, 0) / n if n else None}
                for m, n in sorted(exams.items())]
    return total, compliant, by_rule, by_month


def findings_joined() -> Select:
    """Rows of (Finding, performed_at, examiner name, SOP code, version number, case number);
    the caller adds the lab and the period or filters."""
    return (select(Finding, Examination.performed_at, User.full_name, Sop.code,
                   SopVersion.number, Case.lab_case_number)
            .join(Examination, Finding.examination_id == Examination.id)
            .join(User, User.id == Examination.examiner_id)
            .join(SopVersion, SopVersion.id == Examination.sop_version_id)
            .join(Sop, Sop.id == SopVersion.sop_id)
            .outerjoin(Case, Case.id == Examination.case_id))


def finding_rows(lab_id: int, period: Period, *, rule_id: str | None = None,
                 limit: int | None = None):
    """Findings with their examination, examiner, SOP version and case (one query)."""
    stmt = (findings_joined().where(_in_period(lab_id, period))
            .order_by(Examination.performed_at.desc(), Finding.id))
    if rule_id:
        stmt = stmt.where(Finding.rule_id == rule_id)
    if limit:
        stmt = stmt.limit(limit)
    return db.session.execute(stmt).all()


def build(lab_id: int, today: date, period: Period | None = None,
          rule_id: str | None = None) -> Dashboard:
    period = period or Period.default(today)
    total, compliant, by_rule, by_month = compliance_rates(lab_id, period)
    dash = Dashboard(period, total, compliant, by_rule, by_month)
    dash.open_findings = finding_rows(lab_id, period, rule_id=rule_id, limit=FINDINGS_SHOWN)
    dash.open_findings_total = (sum(r["broken"] for r in by_rule) if rule_id is None
                                else next((r["broken"] for r in by_rule
                                           if r["rule"].id == rule_id), 0))
    horizon = today + timedelta(days=HORIZON_DAYS)
    dash.expiring_authorisations = db.session.execute(
        select(Authorisation, User.full_name, Sop.code)
        .join(User, User.id == Authorisation.user_id).join(Sop, Sop.id == Authorisation.sop_id)
        .where(Authorisation.lab_id == lab_id, Authorisation.revoked_on.is_(None),
               Authorisation.expires_on >= today, Authorisation.expires_on <= horizon)
        .order_by(Authorisation.expires_on)).all()
    dash.calibrations_due, dash.out_of_service = calibration_status(lab_id, today, horizon)
    dash.open_nonconformities = db.session.execute(
        select(Nonconformity).where(Nonconformity.lab_id == lab_id,
                                    Nonconformity.status != NonconformityStatus.CLOSED)
        .order_by(Nonconformity.raised_at.desc()).limit(20)).scalars().all()
    return dash


def calibration_status(lab_id: int, today: date, horizon: date):
    """Instruments that are not usable today (failed check, overdue, never calibrated, taken
    out of service) or whose next calibration or check falls due by ``horizon``, each with its
    state; and the instruments a manager took out of service (2 queries)."""
    records: dict[int, list[CalibrationRecord]] = {}
    for rec in db.session.execute(select(CalibrationRecord)
                                  .where(CalibrationRecord.lab_id == lab_id,
                                         CalibrationRecord.performed_on <= today)
                                  .order_by(CalibrationRecord.performed_on,
                                            CalibrationRecord.id)).scalars():
        records.setdefault(rec.equipment_id, []).append(rec)
    equipment = db.session.execute(select(Equipment).where(Equipment.lab_id == lab_id)
                                   .order_by(Equipment.code)).scalars().all()
    due = []
    for eq in equipment:
        state = state_on(records.get(eq.id, []), today)
        if not state.usable or state.due_on <= horizon:
            due.append({"equipment": eq, "state": state, "record": state.record})
    return due, [eq for eq in equipment if eq.is_out_of_service]


def export_rows(lab_id: int, period: Period):
    """One row per examination in the period with its findings (2 queries)."""
    findings: dict[int, list[Finding]] = {}
    for f in db.session.execute(select(Finding)
                                .join(Examination, Finding.examination_id == Examination.id)
                                .where(_in_period(lab_id, period))
                                .order_by(Finding.rule_id)).scalars():
        findings.setdefault(f.examination_id, []).append(f)
    rows = db.session.execute(
        select(Examination.id, Examination.performed_at, Examination.completed_at,
               Examination.released_at, Examination.status, Examination.result,
               User.full_name, Sop.code, SopVersion.number, Case.lab_case_number)
        .join(User, User.id == Examination.examiner_id)
        .join(SopVersion, SopVersion.id == Examination.sop_version_id)
        .join(Sop, Sop.id == SopVersion.sop_id)
        .outerjoin(Case, Case.id == Examination.case_id)
        .where(_in_period(lab_id, period)).order_by(Examination.performed_at)).all()
    return [(r, findings.get(r.id, [])) for r in rows]
