"""WTForms for the comparison pages. They only collect input: the fields are then loaded by the
API's own schemas (``core.web.schema_args``), the file is checked by ``scans.upload_scan`` and
the review rules live in ``review``."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from ballistics.auth.access import lab_members
from ballistics.auth.models import User
from ballistics.auth.roles import Role
from ballistics.comparisons.models import Decision
from ballistics.comparisons.permissions import REVIEW_CANDIDATES
from ballistics.comparisons.schemas import REGIONS, ScanUploadSchema
from ballistics.core.web import schema_args


def _choices(values: list[str], blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(v, v.replace("_", " ")) for v in values]


# Common class-characteristic terms; the API accepts any short text, the page offers a list so
# the same shape is always spelled the same way.
FIRING_PIN_SHAPES = ["circular", "elliptical", "rectangular", "hemispherical"]
BREECH_FACE_CLASSES = ["parallel", "arched", "circular", "granular", "crosshatch", "smooth"]


class ScanUploadForm(FlaskForm):
    file = FileField("Scan file (x3p, PNG or TIFF)", validators=[FileRequired()])
    # Text, not a number field: the schema below parses and range-checks it, as for the API.
    pixel_um = StringField("Pixel size (µm, PNG/TIFF only)", validators=[Optional()],
                           default="")
    region = SelectField("Region", choices=_choices(list(REGIONS.choices)), default="breech_face")
    calibre = StringField("Calibre", default="")
    firing_pin_shape = SelectField("Firing-pin shape", default="",
                                   choices=_choices(FIRING_PIN_SHAPES, "— not recorded —"))
    breech_face_class = SelectField("Breech-face class", default="",
                                    choices=_choices(BREECH_FACE_CLASSES, "— not recorded —"))
    open_case = BooleanField("Keep as an open case (later scans are compared with it)",
                             default=True)


def upload_args(form: ScanUploadForm, data: dict[str, Any]) -> dict[str, Any]:
    """Form data -> ``upload_scan`` keyword arguments: the file, and the fields as the API's
    upload schema reads them."""
    upload = data.pop("file")
    return {"data": upload.read(), "filename": upload.filename or "upload",
            **schema_args(form, ScanUploadSchema, data)}


class SearchForm(FlaskForm):
    """Starts a search of the lab's references (a POST needs its CSRF token, nothing else)."""


DECISIONS = [SelectChoice(Decision.NO_ASSOCIATION.value, "No association"),
             SelectChoice(Decision.POTENTIAL_LEAD.value, "Potential lead")]


class DecisionForm(FlaskForm):
    # Posted by one of two buttons named "decision"; the note is optional.
    decision = SelectField("Decision", choices=DECISIONS, validators=[DataRequired()])
    note = StringField("Note", default="")


class ConfirmForm(FlaskForm):
    reviewer_id = SelectField("Technical reviewer", validators=[DataRequired()],
                              coerce=lambda v: int(v) if v not in (None, "") else None)
    # A confirmation records an identification; other conclusions are "no association".
    conclusion = HiddenField(default="identification")
    examination_ref = StringField("Examination reference", default="")


def may_review(user: User) -> bool:
    return user.has_role(*REVIEW_CANDIDATES)


def confirm_form(user: User, *, bound: bool) -> ConfirmForm:
    """The confirm form, its reviewers being the lab's technical reviewers other than ``user``."""
    form = ConfirmForm() if bound else ConfirmForm(formdata=None)
    people = [SelectChoice(u.id, u.full_name)
              for u in lab_members(user, {Role.TECHNICAL_REVIEWER}) if u.id != user.id]
    form.reviewer_id.choices = [SelectChoice("", "— choose —"), *people]
    return form
