"""Page forms of the comparison pages. They only collect input: the API's own schemas load it
(:mod:`ballistics.core.forms`), the file is checked by ``scans.upload_scan`` and the review
rules live in ``review``."""

from __future__ import annotations

import math

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from ballistics.auth.models import User
from ballistics.comparisons import schemas as s
from ballistics.comparisons.models import CaseLink, Decision, Region
from ballistics.comparisons.permissions import REVIEW_CANDIDATES, VERIFY_CONFIRMATIONS
from ballistics.core.confirm import confirm_field
from ballistics.core.forms import PageForm
from ballistics.core.labels import LABELS, label
from sop.models import AfteResult, Equipment, SopStep, SopVersion
from sop.models.examinations import ReviewOutcome
from sop.schemas import ReviewerConclusionInSchema, TechnicalReviewInSchema


def _choices(values: list[str], blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(v, LABELS.get(v, v.replace("_", " "))) for v in values]


# Common class-characteristic terms; the API accepts any short text, the page offers a list so
# the same shape is always spelled the same way.
FIRING_PIN_SHAPES = ["circular", "elliptical", "rectangular", "hemispherical"]
BREECH_FACE_CLASSES = ["parallel", "arched", "circular", "granular", "crosshatch", "smooth"]


class ScanUploadForm(PageForm):
    schema = s.ScanUploadSchema
    file = FileField(_l("Scan file (x3p, PNG or TIFF)"))
    pixel_um = StringField(_l("Pixel size (µm, PNG/TIFF only)"), default="")
    region = SelectField(_l("Region"), choices=_choices(list(Region)), default=Region.BREECH_FACE,
                         validate_choice=False)
    calibre = StringField(_l("Calibre"), default="")
    firing_pin_shape = SelectField(_l("Firing-pin shape"), default="", validate_choice=False,
                                   choices=_choices(FIRING_PIN_SHAPES, _l("— not recorded —")))
    breech_face_class = SelectField(_l("Breech-face class"), default="", validate_choice=False,
                                    choices=_choices(BREECH_FACE_CLASSES, _l("— not recorded —")))
    open_case = BooleanField(_l("Keep as an open case (later scans are compared with it)"),
                             default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file.flags.required = True


class ButtonForm(PageForm):
    """A button that posts (search, retry): its CSRF token and nothing else."""


DECISIONS = [SelectChoice(Decision.NO_ASSOCIATION, _l("No association")),
             SelectChoice(Decision.POTENTIAL_LEAD, _l("Potential lead"))]


class DecisionForm(PageForm):
    schema = s.DecisionSchema
    # Posted by one of two buttons named "decision"; the note is optional.
    decision = SelectField(_l("Decision"), choices=DECISIONS, validate_choice=False)
    note = StringField(_l("Note"), default="")


AFTE_LABELS = {AfteResult.IDENTIFICATION: _l("Identification"),
               AfteResult.INCONCLUSIVE_A: _l("Inconclusive A (some agreement)"),
               AfteResult.INCONCLUSIVE_B: _l("Inconclusive B (neither)"),
               AfteResult.INCONCLUSIVE_C: _l("Inconclusive C (some disagreement)"),
               AfteResult.ELIMINATION: _l("Elimination"),
               AfteResult.UNSUITABLE: _l("Unsuitable for comparison")}
AFTE = [SelectChoice("", _l("— choose —")),
        *(SelectChoice(k.value, v) for k, v in AFTE_LABELS.items())]


class ConfirmForm(PageForm):
    """The examiner's microscope comparison. The SOP's steps are added per version (a box per
    step, a number for a step that records a value): see :func:`confirm_form`."""

    schema = s.ConfirmSchema
    conclusion = SelectField(_l("AFTE conclusion"), choices=AFTE, default="", validate_choice=False)
    equipment_ids = SelectMultipleField(_l("Equipment used"), coerce=str, validate_choice=False)
    notes = TextAreaField(_l("Basis for the conclusion"))

    #: (step, field name) in the SOP's order
    step_fields: list[tuple[SopStep, str]] = []

    def api_input(self) -> dict:
        """The posted form as the API's JSON body: the steps done with their values, numbers
        as numbers (what is not a number is left as typed, for the schema to refuse)."""
        steps = []
        for step, name in self.step_fields:
            raw = str((self[name].raw_data or [""])[0]).strip()
            if step.is_value_required:
                if raw:
                    steps.append({"step_id": step.id, "value": _number(raw)})
            elif self[name].data:
                steps.append({"step_id": step.id})
        data = {"equipment_ids": [_number(v, int) for v in (self.equipment_ids.data or []) if v],
                "steps": steps, "notes": self.notes.data or ""}
        if self.conclusion.data:
            data["conclusion"] = self.conclusion.data
        return data

    def page_messages(self, messages: dict) -> dict:
        """Schema messages keyed by the page's field names (a step's value by its box)."""
        out = {k: v for k, v in messages.items() if k != "steps"}
        for index, problem in (messages.get("steps") or {}).items():
            done = [name for step, name in self.step_fields
                    if (step.is_value_required and str((self[name].raw_data or [""])[0]).strip())
                    or (not step.is_value_required and self[name].data)]
            if isinstance(index, int) and index < len(done):
                out[done[index]] = problem
        return out


def _number(raw: str, kind: type = float):
    try:
        value = kind(raw)
    except ValueError:
        return raw
    return value if math.isfinite(value) else raw


def confirm_form(version: SopVersion | None, equipment: list[tuple[Equipment, str]], *,
                 bound: bool) -> ConfirmForm:
    """The confirm form for the lab's hit-confirmation SOP version (its steps as fields) and
    the lab's instruments, each with its state (an instrument out of service is refused)."""
    steps = list(version.steps) if version is not None else []
    attrs: dict = {"step_fields": []}
    for step in steps:
        name = f"step_{step.id}"
        if step.is_value_required:
            unit = f", {step.unit}" if step.unit else ""
            attrs[name] = StringField(f"{step.position}. {step.title}: {step.value_label}{unit}")
        else:
            attrs[name] = BooleanField(f"{step.position}. {step.title}")
        attrs["step_fields"].append((step, name))
    cls = type("ConfirmStepsForm", (ConfirmForm,), attrs)
    form = cls() if bound else cls(formdata=None)
    form.equipment_ids.choices = [
        SelectChoice(str(eq.id), f"{eq.code} · {eq.name}" + (
            "" if state == "in service" else f" ({label(state.replace(' ', '_'))})"))
        for eq, state in equipment]
    return form


class ConclusionForm(PageForm):
    """Blind verification: the reviewer's own conclusion, before the examiner's is shown."""

    schema = ReviewerConclusionInSchema
    result = SelectField(_l("Your AFTE conclusion"), choices=AFTE, default="",
                         validate_choice=False)
    notes = TextAreaField(_l("Basis for your conclusion"))


class ReviewForm(PageForm):
    schema = TechnicalReviewInSchema
    # Posted by one of two buttons named "outcome".
    outcome = SelectField(_l("Review"),
                          choices=[SelectChoice(ReviewOutcome.AGREE, _l("Agree")),
                                   SelectChoice(ReviewOutcome.DISAGREE, _l("Disagree"))],
                          validate_choice=False)
    reasons = TextAreaField(_l("Reasons (required to disagree)"))


class CorrectionForm(PageForm):
    schema = s.LinkCorrectionCreateSchema
    reason = TextAreaField(_l("Why the link should be withdrawn"))


class CorrectionReviewForm(PageForm):
    schema = s.LinkCorrectionReviewSchema
    outcome = SelectField(_l("Decision"),
                          choices=[SelectChoice(ReviewOutcome.AGREE, _l("Agree: withdraw")),
                                   SelectChoice(ReviewOutcome.DISAGREE, _l("Disagree: it stands"))],
                          validate_choice=False)
    reasons = TextAreaField(_l("Your reasons"))
    #: needed to agree (the withdrawal), not to disagree
    confirm = confirm_field()


def withdrawal_consequence(link: CaseLink) -> str:
    """The sentence a reviewer confirms before agreeing to withdraw a case link."""
    numbers = sorted([link.case_a.lab_case_number, link.case_b.lab_case_number])
    return _("To agree, I confirm: case link %(id)s between cases %(a)s and %(b)s is withdrawn "
             "(it stays on record as withdrawn), the identification no longer links the cases "
             "and the lead goes back to the examiners.", id=link.id, a=numbers[0], b=numbers[1])


class SettingsForm(PageForm):
    schema = s.SettingsSchema
    confirmation_sop_id = SelectField(_l("SOP that leads are confirmed under"), coerce=str,
                                      default="", validate_choice=False)
    is_blind_verification = BooleanField(_l("Blind verification: the verifier records their own "
                                            "conclusion before seeing the examiner's"))


def may_review(user: User) -> bool:
    return user.has_role(*REVIEW_CANDIDATES)


def may_verify(user: User) -> bool:
    return user.has_role(*VERIFY_CONFIRMATIONS)
