"""Page forms of the quality pages: they only collect input; the API's schemas load it
(:mod:`ballistics.core.forms`)."""

from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField

from ballistics.core.forms import PageForm
from sop import schemas as s
from sop.models.quality import ActionKind


class NonconformityForm(PageForm):
    schema = s.NonconformityCreateSchema
    title = StringField("Title")
    description = TextAreaField("Description")


class ActionForm(PageForm):
    schema = s.ActionCreateSchema
    kind = SelectField("Kind", choices=[SelectChoice(ActionKind.CORRECTIVE, "Corrective"),
                                        SelectChoice(ActionKind.PREVENTIVE, "Preventive")],
                       validate_choice=False)
    description = TextAreaField("Action")
    owner_id = SelectField("Owner", coerce=str, validate_choice=False)
    due_on = DateField("Due")


class ActionCompleteForm(PageForm):
    schema = s.ActionCompleteSchema
    note = StringField("What was done")


class EmptyForm(PageForm):
    """CSRF only (buttons that post)."""
