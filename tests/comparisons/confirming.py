"""A lab ready to confirm leads: a hit-confirmation SOP in force and chosen, the examiner and
the reviewer authorised for it, a calibrated microscope."""

from __future__ import annotations

from datetime import timedelta

from ballistics.comparisons import confirmations
from ballistics.core import timeutil
from ballistics.extensions import db
from sop.models import SopVersion
from sop.services import equipment
from tests.sop.scenario import as_, make_sop, qualify
from tests.support.labs import LabKit


def ready_to_confirm(kit: LabKit, *, blind: bool = False) -> tuple[SopVersion, int]:
    """Returns the SOP version in force and the microscope's id; commits."""
    today = timeutil.utcnow().date()
    version = make_sop(kit, code="FA-09")
    qualify(kit, version, "examiner", today=today)
    qualify(kit, version, "reviewer", today=today)
    manager = kit.users["manager"]
    with as_(manager):
        microscope = equipment.register(manager, code="MIC-09", name="Comparison microscope",
                                        kind="comparison_microscope")
        equipment.record_calibration(manager, microscope, kind="calibration",
                                     performed_on=today - timedelta(days=30),
                                     due_on=today + timedelta(days=300), is_passed=True)
        confirmations.update_settings(manager, confirmation_sop_id=version.sop_id,
                                      is_blind_verification=blind)
    db.session.commit()
    return version, microscope.id


def confirm_body(version: SopVersion, microscope_id: int, conclusion: str = "identification"
                 ) -> dict:
    """The API body of a complete confirmation (every step, magnification 20x)."""
    steps = [{"step_id": s.id, "value": 20.0 if s.is_value_required else None}
             for s in version.steps]
    return {"conclusion": conclusion, "equipment_ids": [microscope_id], "steps": steps,
            "notes": "Breech-face marks and firing-pin drag agree in quality and quantity."}
