"""Whether an instrument may be used on a given day, from its calibration and performance-check
records (pure: works on any records with ``kind``, ``performed_on``, ``due_on``, ``is_passed``).

ISO/IEC 17025 6.4: equipment that gave questionable results or is outside its calibration is
taken out of service until it is shown to work correctly again. Here that follows from the
records themselves, for each kind of record separately (an in-house performance check does not
stand in for an overdue external calibration): the latest record of each kind performed by that
day must have passed, and its due date must not have gone by. A passing record later on puts the
instrument back in service, with no one having to remember to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from ballistics.core.wording import Wording, english, said, wording


class EquipmentState(StrEnum):
    IN_SERVICE = "in_service"
    #: taken out of service by a manager (a current decision, with its reason)
    OUT_OF_SERVICE = "out_of_service"
    #: the latest calibration or performance check failed
    FAILED_CHECK = "failed_check"
    #: the latest calibration or performance check is past its due date
    OVERDUE = "overdue"
    NEVER_CALIBRATED = "never_calibrated"


LABELS = {EquipmentState.IN_SERVICE: "in service",
          EquipmentState.OUT_OF_SERVICE: "out of service",
          EquipmentState.FAILED_CHECK: "failed check",
          EquipmentState.OVERDUE: "overdue",
          EquipmentState.NEVER_CALIBRATED: "never calibrated"}


@dataclass(frozen=True)
class ServiceState:
    state: EquipmentState
    #: the record behind the state (the failed or lapsed one; in service: the next to fall due)
    record: Any = None
    #: why a manager took it out of service, as they wrote it
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.state is EquipmentState.IN_SERVICE

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def reason(self) -> str:
        """The problem in English words with ISO dates ("failed its performance check on
        2026-03-02"), empty in service: what the API and the reminders give."""
        return english(self.wording) if self.wording else ""

    @property
    def said(self) -> str:
        """:attr:`reason` in the reader's language and date format, for pages."""
        return said(self.wording) if self.wording else ""

    @property
    def wording(self) -> Wording | None:
        """The problem as a wording (a compliance finding keeps it); None in service."""
        record = self.record
        if self.state is EquipmentState.OUT_OF_SERVICE:
            return wording("taken out of service (%(reason)s)",
                           reason=self.detail or wording("no reason given"))
        if self.state is EquipmentState.NEVER_CALIBRATED:
            return wording("had no calibration record")
        if self.state is EquipmentState.FAILED_CHECK:
            return (wording("failed its calibration on %(day)s", day=record.performed_on)
                    if record.kind == "calibration"
                    else wording("failed its performance check on %(day)s",
                                 day=record.performed_on))
        if self.state is EquipmentState.OVERDUE:
            return (wording("was due for calibration on %(day)s (record #%(id)s)",
                            day=record.due_on, id=record.id)
                    if record.kind == "calibration"
                    else wording("was due for its performance check on %(day)s "
                                 "(record #%(id)s)", day=record.due_on, id=record.id))
        return None

    @property
    def due_on(self) -> date | None:
        return self.record.due_on if self.record is not None else None


def state_on(records: Iterable[Any], day: date, *, out_of_service: bool = False,
             out_of_service_reason: str = "") -> ServiceState:
    """The instrument's state on ``day``; ``records`` in the order they were performed."""
    if out_of_service:
        return ServiceState(EquipmentState.OUT_OF_SERVICE, detail=out_of_service_reason)
    latest: dict[str, Any] = {}
    for record in records:
        if record.performed_on <= day:
            latest[record.kind] = record
    if not latest:
        return ServiceState(EquipmentState.NEVER_CALIBRATED)
    failed = [r for r in latest.values() if not r.is_passed]
    if failed:
        last = max(failed, key=lambda r: r.performed_on)
        return ServiceState(EquipmentState.FAILED_CHECK, last)
    lapsed = [r for r in latest.values() if r.due_on < day]
    if lapsed:
        first = min(lapsed, key=lambda r: r.due_on)
        return ServiceState(EquipmentState.OVERDUE, first)
    return ServiceState(EquipmentState.IN_SERVICE, min(latest.values(), key=lambda r: r.due_on))
