"""Equipment register with calibration and performance-check records."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.core.enums import db_enum
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db


class EquipmentKind(StrEnum):
    COMPARISON_MICROSCOPE = "comparison_microscope"
    STEREO_MICROSCOPE = "stereo_microscope"
    IMAGING_STATION = "imaging_station"
    TEST_FIRE_TANK = "test_fire_tank"
    BULLET_TRAP = "bullet_trap"
    BALANCE = "balance"
    MEASURING_INSTRUMENT = "measuring_instrument"
    CHRONOGRAPH = "chronograph"
    OTHER = "other"


class CalibrationKind(StrEnum):
    #: external, traceable
    CALIBRATION = "calibration"
    #: in-house
    PERFORMANCE_CHECK = "performance_check"


class Equipment(db.Model):
    __tablename__ = "equipment"
    __table_args__ = (UniqueConstraint("lab_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    #: the lab's asset tag, e.g. "MIC-02"
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EquipmentKind] = mapped_column(db_enum(EquipmentKind, length=40))
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    serial_number: Mapped[str] = mapped_column(String(80), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    #: True while the instrument must not be used for casework
    is_out_of_service: Mapped[bool] = mapped_column(default=False)
    out_of_service_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    calibrations: Mapped[list[CalibrationRecord]] = relationship(
        back_populates="equipment", order_by="CalibrationRecord.performed_on")


class CalibrationRecord(db.Model):
    """A calibration or performance check; a failed one takes the instrument out of calibration
    from that day until a passing one."""

    __tablename__ = "calibration_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"), index=True)
    kind: Mapped[CalibrationKind] = mapped_column(db_enum(CalibrationKind))
    performed_on: Mapped[date]
    #: last day the result counts; the next check is due by then
    due_on: Mapped[date]
    is_passed: Mapped[bool]
    #: who did it: a colleague's name or the calibration provider
    performed_by: Mapped[str] = mapped_column(String(200), default="")
    certificate_ref: Mapped[str] = mapped_column(String(120), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    equipment: Mapped[Equipment] = relationship(back_populates="calibrations")
