"""Forms of the quality pages (CSRF-protected)."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from sop.models.quality import ActionKind


class NonconformityForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=20000)])


class ActionForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice(ActionKind.CORRECTIVE, "Corrective"),
                                        SelectChoice(ActionKind.PREVENTIVE, "Preventive")])
    description = TextAreaField("Action", validators=[DataRequired(), Length(max=20000)])
    owner_id = SelectField("Owner", coerce=int)
    due_on = DateField("Due", validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """CSRF only (buttons that post)."""
