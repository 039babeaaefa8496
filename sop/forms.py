"""Page forms of the quality pages: they only collect input; the API's schemas load it
(:mod:`ballistics.core.forms`)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField

from ballistics.core.forms import PageForm
from sop import schemas as s
from sop.models.quality import ActionKind


class NonconformityForm(PageForm):
    schema = s.NonconformityCreateSchema
    title = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))


class ActionForm(PageForm):
    schema = s.ActionCreateSchema
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(ActionKind.CORRECTIVE, _l("Corrective")),
        SelectChoice(ActionKind.PREVENTIVE, _l("Preventive"))],
                       validate_choice=False)
    description = TextAreaField(_l("Action"))
    owner_id = SelectField(_l("Owner"), coerce=str, validate_choice=False)
    due_on = DateField(_l("Due"))


class ActionCompleteForm(PageForm):
    schema = s.ActionCompleteSchema
    note = StringField(_l("What was done"))


class EmptyForm(PageForm):
    """CSRF only (buttons that post)."""
