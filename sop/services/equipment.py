"""Equipment register, calibration and performance checks, out-of-service status."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from ballistics.auth.access import lab_select, require_role
from ballistics.auth.models import Lab, User
from ballistics.core.errors import Conflict, Unprocessable
from ballistics.extensions import db
from sop.models import CalibrationRecord, Equipment
from sop.permissions import MANAGE_QUALITY
from sop.services.calibration import ServiceState, state_on


def current_state(equipment: Equipment) -> ServiceState:
    """Whether the instrument may be used today (the lab's day: a calibration due on the 2nd
    is overdue from the 3rd as the lab's calendar has it, not UTC's), and why not."""
    records = sorted(equipment.calibrations, key=lambda r: (r.performed_on, r.id))
    return state_on(records, db.session.get(Lab, equipment.lab_id).today(),
                    out_of_service=equipment.is_out_of_service,
                    out_of_service_reason=equipment.out_of_service_reason)


def register(actor: User, *, code: str, name: str, kind: str, manufacturer: str = "",
             serial_number: str = "", location: str = "") -> Equipment:
    require_role(actor, MANAGE_QUALITY, "manage equipment")
    if db.session.scalar(lab_select(Equipment, actor).where(Equipment.code == code)):
        raise Conflict(_("Equipment %(code)s already exists in your lab.", code=code),
                       fields={"code": [_("Already in use in your lab.")]})
    equipment = Equipment(lab_id=actor.lab_id, code=code, name=name, kind=kind,
                          manufacturer=manufacturer, serial_number=serial_number,
                          location=location)
    db.session.add(equipment)
    db.session.flush()
    return equipment


def record_calibration(actor: User, equipment: Equipment, *, kind: str, performed_on: date,
                       due_on: date, is_passed: bool, performed_by: str = "",
                       certificate_ref: str = "", notes: str = "") -> CalibrationRecord:
    require_role(actor, MANAGE_QUALITY, "record calibrations")
    if performed_on > actor.lab.today():
        raise Unprocessable(_("A calibration or check cannot be recorded as performed in the "
                              "future."), fields={"performed_on": [_("In the future.")]})
    if due_on < performed_on:
        raise Unprocessable(_("The next due date is before the calibration itself."),
                            fields={"due_on": [_("Before the “Performed on” date.")]})
    record = CalibrationRecord(lab_id=actor.lab_id, equipment=equipment, kind=kind,
                               performed_on=performed_on, due_on=due_on, is_passed=is_passed,
                               performed_by=performed_by, certificate_ref=certificate_ref,
                               notes=notes, recorded_by_id=actor.id)
    db.session.add(record)
    db.session.flush()
    return record


def set_service(actor: User, equipment: Equipment, *, out_of_service: bool,
                reason: str = "") -> Equipment:
    require_role(actor, MANAGE_QUALITY, "take equipment in or out of service")
    if equipment.is_out_of_service == out_of_service:
        raise Conflict(_("%(code)s is already out of service.", code=equipment.code)
                       if out_of_service else
                       _("%(code)s is already in service.", code=equipment.code),
                       code="same_state")
    if out_of_service and not reason:
        raise Unprocessable(_("Say why the equipment goes out of service."),
                            fields={"reason": [_("Required when taking out of service.")]})
    equipment.is_out_of_service = out_of_service
    equipment.out_of_service_reason = reason if out_of_service else ""
    db.session.flush()
    return equipment
