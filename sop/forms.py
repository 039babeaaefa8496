"""Page forms of the quality pages: they only collect input; the API's schemas load it
(:mod:`ballistics.core.forms`)."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from ballistics.core.confirm import confirm_field
from ballistics.core.forms import PageForm
from ballistics.core.labels import LABELS, label
from sop import schemas as s
from sop.models.complaints import ComplainantKind, ComplaintChannel, ComplaintDecision
from sop.models.equipment import CalibrationKind, EquipmentKind
from sop.models.quality import ActionKind, Severity
from sop.services.personnel import AREA_CODES, COMPETENCY_AREAS, SCALE


def _yes_no(yes, no) -> list[SelectChoice]:
    # An empty first choice: nothing chosen is refused by the schema, naming the field.
    return [SelectChoice("", "—"), SelectChoice("true", yes), SelectChoice("false", no)]


class NonconformityForm(PageForm):
    schema = s.NonconformityCreateSchema
    title = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))


class NewNonconformityForm(NonconformityForm):
    severity = SelectField(_l("Severity"), choices=[SelectChoice(Severity.MAJOR, _l("Major")),
                                                    SelectChoice(Severity.MINOR, _l("Minor"))],
                           validate_choice=False)


class ActionForm(PageForm):
    schema = s.ActionCreateSchema
    kind = SelectField(_l("Kind"), choices=[SelectChoice(ActionKind.CORRECTIVE, _l("Corrective")),
                                            SelectChoice(ActionKind.PREVENTIVE, _l("Preventive"))],
                       validate_choice=False)
    description = TextAreaField(_l("Action"))
    owner_id = SelectField(_l("Owner"), coerce=str, validate_choice=False)
    due_on = DateField(_l("Due"))


class ActionCompleteForm(PageForm):
    schema = s.ActionCompleteSchema
    note = StringField(_l("What was done"))


class ActionVerifyForm(PageForm):
    schema = s.ActionVerifySchema
    is_effective = SelectField(_l("Verdict"), choices=_yes_no(_l("Effective"),
                                                            _l("Not effective")),
                               validate_choice=False)
    verification = TextAreaField(_l("How effectiveness was verified"))


class CloseForm(PageForm):
    schema = s.CloseSchema
    root_cause = TextAreaField(_l("Root cause"))


class EmptyForm(PageForm):
    """CSRF only (buttons that post)."""


class RetireForm(PageForm):
    """Retiring an SOP version: the button and the box that names the version."""

    confirm = confirm_field()


# Personnel -------------------------------------------------------------------------------------

class TrainingForm(PageForm):
    schema = s.TrainingCreateSchema
    title = StringField(_l("Training"))
    completed_on = DateField(_l("Completed on"))
    provider = StringField(_l("Provider"))
    sop_id = SelectField(_l("SOP"), coerce=str, validate_choice=False)
    hours = StringField(_l("Hours"))
    notes = TextAreaField(_l("Notes"))


class ProficiencyForm(PageForm):
    schema = s.ProficiencyCreateSchema
    provider = StringField(_l("Provider"))
    test_ref = StringField(_l("Test reference"))
    taken_on = DateField(_l("Taken on"))
    is_satisfactory = SelectField(_l("Result"), choices=_yes_no(_l("Satisfactory"),
                                                              _l("Not satisfactory")),
                                  validate_choice=False)
    notes = TextAreaField(_l("Notes"))


class AuthorisationForm(PageForm):
    schema = s.AuthorisationCreateSchema
    sop_id = SelectField(_l("SOP"), coerce=str, validate_choice=False)
    starts_on = DateField(_l("Starts on"))
    expires_on = DateField(_l("Expires on"))


class RevokeForm(PageForm):
    schema = s.RevokeSchema
    reason = StringField(_l("Reason"))
    revoked_on = DateField(_l("Ends from"))
    confirm = confirm_field()  # a revocation is not undone: the box names whose and for what


# Equipment -------------------------------------------------------------------------------------

class EquipmentForm(PageForm):
    schema = s.EquipmentCreateSchema
    code = StringField(_l("Asset tag"))
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=[SelectChoice("", "—")] + [
        SelectChoice(k.value, LABELS[k.value]) for k in EquipmentKind],
        validate_choice=False)
    manufacturer = StringField(_l("Manufacturer"))
    serial_number = StringField(_l("Serial number"))
    location = StringField(_l("Location"))


class CalibrationForm(PageForm):
    schema = s.CalibrationCreateSchema
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(CalibrationKind.CALIBRATION, _l("Calibration (external)")),
        SelectChoice(CalibrationKind.PERFORMANCE_CHECK, _l("Performance check (in-house)"))],
        validate_choice=False)
    performed_on = DateField(_l("Performed on"))
    due_on = DateField(_l("Next due"))
    is_passed = SelectField(_l("Result"), choices=_yes_no(_l("Passed"), _l("Failed")),
                            validate_choice=False)
    performed_by = StringField(_l("Performed by"))
    certificate_ref = StringField(_l("Certificate"))
    notes = TextAreaField(_l("Notes"))


class ServiceForm(PageForm):
    schema = s.ServiceSchema
    reason = StringField(_l("Reason"))


# Document control ------------------------------------------------------------------------------

class SopForm(PageForm):
    schema = s.SopCreateSchema
    code = StringField(_l("Code"))
    title = StringField(_l("Title"))
    discipline = StringField(_l("Discipline"))


class VersionForm(PageForm):
    schema = s.VersionCreateSchema
    summary = TextAreaField(_l("Summary of changes"))
    body = TextAreaField(_l("Procedure text"))
    turnaround_days = StringField(_l("Turnaround target (days)"))
    review_due = DateField(_l("Review due"))
    steps = TextAreaField(_l("Required steps (one per line: title | instruction)"))


class ActivateForm(PageForm):
    schema = s.ActivateSchema
    effective_from = DateField(_l("In force from"))
    review_due = DateField(_l("Review due"))


# Examinations ----------------------------------------------------------------------------------

class ExamStartForm(PageForm):
    schema = s.ExamStartSchema
    sop_version_id = SelectField(_l("SOP version"), coerce=str, validate_choice=False)
    item_ids = SelectMultipleField(_l("Items (in your custody)"), coerce=str,
                                   validate_choice=False)
    equipment_ids = SelectMultipleField(_l("Equipment"), coerce=str, validate_choice=False)


# Competency assessment tool --------------------------------------------------------------------

def _scale() -> list[SelectChoice]:
    return [SelectChoice("", "—")] + [SelectChoice(str(score), f"{score} · {meaning}")
                                      for score, meaning in SCALE.items()]


class _Ratings(PageForm):
    """One score per competency area (``score_<area>``); the page gathers them into the API's
    ``ratings`` object."""

    notes = TextAreaField(_l("Notes"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code in AREA_CODES:
            self[f"score_{code}"].flags.required = True

    def ratings(self) -> dict[str, str]:
        """The scores chosen, by area (an area left unchosen is left out: the service names
        it)."""
        return {code: raw for code in AREA_CODES
                if (raw := (self[f"score_{code}"].raw_data or [""])[0].strip())}


class SelfAssessForm(_Ratings):
    schema = s.SelfAssessSchema
    assessed_on = DateField(_l("Assessed on"))


class SuperviseForm(_Ratings):
    schema = s.SuperviseSchema


for _code, _label in COMPETENCY_AREAS:
    for _form in (SelfAssessForm, SuperviseForm):
        setattr(_form, f"score_{_code}", SelectField(_label, choices=_scale,
                                                     validate_choice=False))


def _choices(enum_cls) -> list[SelectChoice]:
    # The stored codes' labels, in the reader's language (built per request).
    return [SelectChoice("", "—")] + [SelectChoice(m.value, label(m.value)) for m in enum_cls]


class ComplaintForm(PageForm):
    schema = s.ComplaintCreateSchema
    received_on = DateField(_l("Received on"))
    complainant_name = StringField(_l("Complainant"))
    complainant_organisation = StringField(_l("Organisation"))
    complainant_kind = SelectField(_l("Complainant is"), validate_choice=False)
    channel = SelectField(_l("Received by"), validate_choice=False)
    subject = TextAreaField(_l("What the complaint is about"))
    #: lab case numbers, resolved to the lab's cases by the page
    cases = StringField(_l("Cases concerned (lab case numbers, comma-separated)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.complainant_kind.choices = _choices(ComplainantKind)
        self.channel.choices = _choices(ComplaintChannel)


class ComplaintAcknowledgeForm(PageForm):
    schema = s.ComplaintAcknowledgeSchema
    acknowledged_on = DateField(_l("Acknowledged on"))
    note = StringField(_l("Note"))


class ComplaintInformForm(PageForm):
    schema = s.ComplaintInformSchema
    contacted_on = DateField(_l("Informed on"))
    note = TextAreaField(_l("What the complainant was told"))


class ComplaintRejectForm(PageForm):
    schema = s.ComplaintRejectSchema
    reason = TextAreaField(_l("Why it is not about the lab's activities"))
    communicated_on = DateField(_l("Communicated on"))


class ComplaintAssignForm(PageForm):
    schema = s.ComplaintAssignSchema
    investigator_id = SelectField(_l("Investigator"), coerce=str, validate_choice=False)


class ComplaintDecideForm(PageForm):
    schema = s.ComplaintDecideSchema
    decision = SelectField(_l("Decision"), validate_choice=False)
    outcome = TextAreaField(_l("Outcome"))
    raise_nonconformity = BooleanField(_l("Raise a nonconformity (upheld only)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = _choices(ComplaintDecision)


class ComplaintCloseForm(PageForm):
    schema = s.ComplaintCloseSchema
    communicated_on = DateField(_l("Outcome communicated on"))
    note = TextAreaField(_l("What the complainant was told"))
