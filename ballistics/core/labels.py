"""What people read for a stored code (an enum value such as ``cartridge_case``): one
translatable label per value, used by the ``label`` template filter.

The codes themselves stay English in the database and the API (machines read them); only the
page shows the label, in the reader's language. A value without a label falls back to its code
with spaces, so a new enum value still reads sensibly until it gets one.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: the English label is the code with spaces (what the pages showed before they were translated)
LABELS = {
    # roles
    "evidence_technician": _l("evidence technician"), "examiner": _l("examiner"),
    "technical_reviewer": _l("technical reviewer"), "lab_manager": _l("lab manager"),
    "admin": _l("admin"),
    # items and custody
    "firearm": _l("firearm"), "cartridge_case": _l("cartridge case"), "bullet": _l("bullet"),
    "fragment": _l("fragment"), "magazine": _l("magazine"), "ammunition": _l("ammunition"),
    "test_fire": _l("test fire"), "other": _l("other"),
    "in_custody": _l("in custody"), "released": _l("released"), "destroyed": _l("destroyed"),
    "received": _l("received"), "transferred": _l("transferred"), "stored": _l("stored"),
    "checked_out": _l("checked out"), "returned": _l("returned"), "sealed": _l("sealed"),
    "unsealed": _l("unsealed"), "sampled": _l("sampled"),
    "release": _l("release"), "destroy": _l("destroy"),
    "holder_absent": _l("holder absent"), "holder_left": _l("holder left"),
    "court_order": _l("court order"), "retention_expired": _l("retention expired"),
    "pending": _l("pending"), "confirmed": _l("confirmed"), "cancelled": _l("cancelled"),
    # scans, searches, candidates
    "queued": _l("queued"), "running": _l("running"), "done": _l("done"), "failed": _l("failed"),
    "ranking": _l("ranking"), "comparing": _l("comparing"),
    "breech_face": _l("breech face"), "firing_pin": _l("firing pin"),
    "no_association": _l("no association"), "potential_lead": _l("potential lead"),
    "awaiting_review": _l("awaiting review"), "verified": _l("verified"),
    "disputed": _l("disputed"), "accepted": _l("accepted"), "rejected": _l("rejected"),
    "circular": _l("circular"), "elliptical": _l("elliptical"), "rectangular": _l("rectangular"),
    "hemispherical": _l("hemispherical"), "parallel": _l("parallel"), "arched": _l("arched"),
    "granular": _l("granular"), "crosshatch": _l("crosshatch"), "smooth": _l("smooth"),
    # network
    "active": _l("active"), "revoked": _l("revoked"), "none": _l("none"), "all": _l("all"),
    "named": _l("named"), "open": _l("open"), "disclosed": _l("disclosed"),
    "exhibit_requested": _l("exhibit requested"), "declined": _l("declined"),
    "expired": _l("expired"), "incoming": _l("incoming"), "outgoing": _l("outgoing"),
    "sent": _l("sent"), "delivered": _l("delivered"), "refused": _l("refused"),
    # examinations (AFTE range of conclusions) and quality
    "identification": _l("identification"), "inconclusive_a": _l("inconclusive a"),
    "inconclusive_b": _l("inconclusive b"), "inconclusive_c": _l("inconclusive c"),
    "elimination": _l("elimination"), "unsuitable": _l("unsuitable"),
    "in_progress": _l("in progress"), "completed": _l("completed"),
    "technical": _l("technical"), "administrative": _l("administrative"),
    "agree": _l("agree"), "disagree": _l("disagree"), "approved": _l("approved"),
    "blocking": _l("blocking"), "major": _l("major"), "minor": _l("minor"),
    "actions_in_progress": _l("actions in progress"), "closed": _l("closed"),
    "corrective": _l("corrective"), "preventive": _l("preventive"),
    "draft": _l("draft"), "in_review": _l("in review"), "effective": _l("effective"),
    "superseded": _l("superseded"),
    "retired": _l("retired"),
    "comparison_microscope": _l("comparison microscope"),
    "stereo_microscope": _l("stereo microscope"), "imaging_station": _l("imaging station"),
    "test_fire_tank": _l("test fire tank"), "bullet_trap": _l("bullet trap"),
    "balance": _l("balance"), "measuring_instrument": _l("measuring instrument"),
    "chronograph": _l("chronograph"), "calibration": _l("calibration"),
    "performance_check": _l("performance check"), "in_service": _l("in service"),
    "out_of_service": _l("out of service"), "failed_check": _l("failed check"),
    "overdue": _l("overdue"), "never_calibrated": _l("never calibrated"),
    "self_assessed": _l("self assessed"),
    # complaints ("received", "closed" and "other" are above)
    "acknowledged": _l("acknowledged"), "under_investigation": _l("under investigation"),
    "decided": _l("decided"), "upheld": _l("upheld"), "not_upheld": _l("not upheld"),
    "court": _l("court"), "prosecutor": _l("prosecutor"), "police": _l("police"),
    "defence": _l("defence"), "laboratory": _l("laboratory"), "letter": _l("letter"),
    "email": _l("email"), "phone": _l("phone"), "in_person": _l("in person"),
    "acknowledgment": _l("acknowledgment"), "progress": _l("progress"),
    "outcome": _l("outcome"),
    # error pages (the code of the error body, ballistics.core.errors and HTTP's own)
    "bad_request": _l("bad request"), "unauthorized": _l("unauthorized"),
    "forbidden": _l("forbidden"), "not_found": _l("not found"), "conflict": _l("conflict"),
    "validation_error": _l("validation error"), "unavailable": _l("unavailable"),
    "method_not_allowed": _l("method not allowed"),
    "request_entity_too_large": _l("request entity too large"),
    "too_many_requests": _l("too many requests"), "internal_error": _l("internal error"),
    "bad_filter": _l("bad filter"),
    # audit log actions
    "insert": _l("insert"), "update": _l("update"), "delete": _l("delete"), "read": _l("read"),
}


def label(code: object) -> str:
    """The reader's-language label of a stored code; the code with spaces if it has none."""
    if code is None or code == "":
        return ""
    text = str(getattr(code, "value", code))
    found = LABELS.get(text)
    return str(found) if found is not None else text.replace("_", " ")
