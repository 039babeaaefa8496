"""Page forms of the network pages (collect input; the API's schemas load it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField

from ballistics.core.forms import PageForm
from ballistics.network import schemas as s
from ballistics.network.models import LeadStatus, ShareMode


class PolicyForm(PageForm):
    schema = s.PolicyIn
    mode = SelectField(_l("Share"), validate_choice=False, choices=[
        SelectChoice(ShareMode.NONE, _l("nothing")),
        SelectChoice(ShareMode.ALL, _l("with every partner lab")),
        SelectChoice(ShareMode.NAMED, _l("with the partner labs named below"))])
    partners = StringField(_l("Partner labs (codes, comma-separated)"))
    offence_contains = StringField(_l("Only cases whose offence mentions (comma-separated)"))
    agency_contains = StringField(_l("Or whose submitting agency mentions (comma-separated)"))


class ExclusionForm(PageForm):
    schema = s.ExclusionIn
    case_id = SelectField(_l("Case"), coerce=str, default="", validate_choice=False)
    reason = StringField(_l("Reason (e.g. sealed investigation)"))


class LiftExclusionForm(PageForm):
    schema = s.LiftExclusionIn
    reason = StringField(_l("Why it may be shared again"))


class LeadRequestForm(PageForm):
    schema = s.LeadRequestIn
    note = StringField(_l("Note to the owning lab"))


class AnswerForm(PageForm):
    schema = s.AnswerIn
    status = SelectField(_l("Answer"), validate_choice=False, choices=[
        SelectChoice(LeadStatus.DISCLOSED, _l("Disclose a contact and our case reference")),
        SelectChoice(LeadStatus.EXHIBIT_REQUESTED,
                     _l("Ask for the physical exhibit or a double cast first")),
        SelectChoice(LeadStatus.DECLINED, _l("Decline"))])
    answer = TextAreaField(_l("What we disclose, or why"))


class ImportForm(PageForm):
    """Import an x3p scanned by another system as a reference scan of this item."""

    schema = s.ImportIn
    file = FileField(_l("x3p file scanned by another system"))
    source_lab = StringField(_l("Comes from (lab or system)"))
    calibre = StringField(_l("Calibre"), default="")
    note = StringField(_l("Note (how it reached us)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.file.flags.required = True
        self.source_lab.flags.required = True


class SendExhibitForm(PageForm):
    """Send an item the user holds to a partner lab (its release)."""

    schema = s.SendExhibitIn
    item_id = SelectField(_l("Item in your hands"), coerce=str, default="",
                          validate_choice=False)
    partner = StringField(_l("Partner lab (network code)"))
    note = StringField(_l("Note to the partner (e.g. the lead it answers)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_id.flags.required = True  # checked by the view (a choice, not the schema's)


class ReceiveExhibitForm(PageForm):
    """Record the arrival of a partner's exhibit into one of our cases."""

    schema = s.ReceiveExhibitIn
    case_id = SelectField(_l("Into case"), coerce=str, default="", validate_choice=False)
    reason = StringField(_l("Remark"), default="")


class ButtonForm(PageForm):
    """A button that posts: its CSRF token only."""


def as_list(text: str | None) -> list[str]:
    """"A, b ,c" -> ["A", "b", "c"]: list fields typed as one line on a page."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]
