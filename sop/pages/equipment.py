"""Equipment pages: the register with each instrument's state today, one instrument's
calibrations and performance checks (record one), and taking it out of or back into service.

Whether an instrument may be used is the service's answer (:func:`current_state`): a failed or
lapsed check puts it out of service by itself; the page shows why."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ballistics.auth.access import get_in_lab, lab_select
from ballistics.core.labels import label
from ballistics.extensions import db
from sop.forms import CalibrationForm, EquipmentForm, ServiceForm
from sop.models import Equipment
from sop.pages import manager, post
from sop.services import equipment as register
from sop.views import bp


@bp.route("/equipment")
@login_required
def equipment_page():
    manager(_("see the equipment register"))
    return _register_page()


def _register_page(form: EquipmentForm | None = None) -> str:
    rows = db.session.execute(lab_select(Equipment, current_user)
                              .order_by(Equipment.code)).scalars().all()
    return render_template("sop/equipment_list.html",
                           rows=[(e, register.current_state(e)) for e in rows],
                           form=form or EquipmentForm(formdata=None))


@bp.route("/equipment", methods=["POST"])
@login_required
def equipment_add():
    manager(_("manage equipment"))
    return post(EquipmentForm(), lambda data: register.register(current_user, **data),
                render=_register_page,
                done=lambda e: (_("%(code)s registered; record its calibration before use.",
                                  code=e.code),
                                url_for("sop.instrument_page", equipment_id=e.id)))


@bp.route("/equipment/<int:equipment_id>")
@login_required
def instrument_page(equipment_id: int):
    manager(_("see the equipment register"))
    return _instrument_page(get_in_lab(Equipment, equipment_id, current_user,
                                       what="equipment"))


def _instrument_page(eq: Equipment, **forms) -> str:
    today = current_user.lab.today()
    forms.setdefault("calibration", CalibrationForm(formdata=None, performed_on=today,
                                                    due_on=today + timedelta(days=365)))
    forms.setdefault("service", ServiceForm(formdata=None))
    records = sorted(eq.calibrations, key=lambda r: (r.performed_on, r.id), reverse=True)
    return render_template("sop/equipment.html", eq=eq, state=register.current_state(eq),
                           records=records, forms=forms, today=today)


@bp.route("/equipment/<int:equipment_id>/calibrations", methods=["POST"])
@login_required
def calibration_add(equipment_id: int):
    manager(_("record calibrations"))
    eq = get_in_lab(Equipment, equipment_id, current_user, what="equipment")

    def done(record) -> tuple[str, str]:
        state = register.current_state(eq)
        if state.usable:
            message = _("%(kind)s recorded; %(code)s is in service.",
                        kind=label(record.kind).capitalize(), code=eq.code)
        else:
            message = _("%(kind)s recorded; %(code)s is out of service: it %(reason)s.",
                        kind=label(record.kind).capitalize(), code=eq.code,
                        reason=state.said)
        return message, url_for("sop.instrument_page", equipment_id=eq.id)

    return post(CalibrationForm(),
                lambda data: register.record_calibration(current_user, eq, **data),
                render=lambda f: _instrument_page(eq, calibration=f), done=done)


@bp.route("/equipment/<int:equipment_id>/service", methods=["POST"])
@login_required
def instrument_service(equipment_id: int):
    manager(_("take equipment in or out of service"))
    eq = get_in_lab(Equipment, equipment_id, current_user, what="equipment")
    # The button pressed is the opposite of the present state.
    return post(ServiceForm(), lambda data: register.set_service(current_user, eq, **data),
                extra={"out_of_service": not eq.is_out_of_service},
                render=lambda f: _instrument_page(eq, service=f),
                done=lambda e: (_("%(code)s taken out of service.", code=e.code)
                                if e.is_out_of_service else
                                _("%(code)s returned to service.", code=e.code),
                                url_for("sop.instrument_page", equipment_id=e.id)))
