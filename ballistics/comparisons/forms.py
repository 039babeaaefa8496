"""Page forms of the comparison pages. They only collect input: the API's own schemas load it
(:mod:`ballistics.core.forms`), the file is checked by ``scans.upload_scan`` and the review
rules live in ``review``."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField

from ballistics.auth.access import lab_members
from ballistics.auth.models import User
from ballistics.auth.roles import Role
from ballistics.comparisons import schemas as s
from ballistics.comparisons.models import Decision, LinkConclusion, Region
from ballistics.comparisons.permissions import REVIEW_CANDIDATES
from ballistics.core.forms import PageForm


def _choices(values: list[str], blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(v, v.replace("_", " ")) for v in values]


# Common class-characteristic terms; the API accepts any short text, the page offers a list so
# the same shape is always spelled the same way.
FIRING_PIN_SHAPES = ["circular", "elliptical", "rectangular", "hemispherical"]
BREECH_FACE_CLASSES = ["parallel", "arched", "circular", "granular", "crosshatch", "smooth"]


class ScanUploadForm(PageForm):
    schema = s.ScanUploadSchema
    file = FileField("Scan file (x3p, PNG or TIFF)")
    pixel_um = StringField("Pixel size (µm, PNG/TIFF only)", default="")
    region = SelectField("Region", choices=_choices(list(Region)), default=Region.BREECH_FACE,
                         validate_choice=False)
    calibre = StringField("Calibre", default="")
    firing_pin_shape = SelectField("Firing-pin shape", default="", validate_choice=False,
                                   choices=_choices(FIRING_PIN_SHAPES, "— not recorded —"))
    breech_face_class = SelectField("Breech-face class", default="", validate_choice=False,
                                    choices=_choices(BREECH_FACE_CLASSES, "— not recorded —"))
    open_case = BooleanField("Keep as an open case (later scans are compared with it)",
                             default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file.flags.required = True


class ButtonForm(PageForm):
    """A button that posts (search, retry): its CSRF token and nothing else."""


DECISIONS = [SelectChoice(Decision.NO_ASSOCIATION, "No association"),
             SelectChoice(Decision.POTENTIAL_LEAD, "Potential lead")]


class DecisionForm(PageForm):
    schema = s.DecisionSchema
    # Posted by one of two buttons named "decision"; the note is optional.
    decision = SelectField("Decision", choices=DECISIONS, validate_choice=False)
    note = StringField("Note", default="")


class ConfirmForm(PageForm):
    schema = s.ConfirmSchema
    reviewer_id = SelectField("Technical reviewer", coerce=str, default="", validate_choice=False)
    # A confirmation records an identification; other conclusions are "no association".
    conclusion = HiddenField(default=LinkConclusion.IDENTIFICATION)
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
