"""Page forms of the evidence pages, and which custody actions a user may see on an item.

The forms only collect input: the API's schemas load it and the services in ``custody.py``
enforce every rule (:mod:`ballistics.core.forms`). The visibility below just spares users
buttons that the service would refuse anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from ballistics.auth.access import lab_members, lab_select
from ballistics.auth.models import User
from ballistics.core.confirm import ask, confirm_field
from ballistics.core.forms import PageForm
from ballistics.core.labels import LABELS
from ballistics.evidence import schemas as s
from ballistics.evidence.disposal import pending_for
from ballistics.evidence.models import (
    OVERRIDE_REASONS,
    CustodyKind,
    DisposalAction,
    DisposalRequest,
    Item,
    ItemKind,
    StorageLocation,
)
from ballistics.evidence.permissions import HOLD_EVIDENCE, OVERRIDE_CUSTODY, RECEIVE_EVIDENCE
from ballistics.extensions import db

KIND_CHOICES = [SelectChoice(k.value, LABELS[k.value]) for k in ItemKind]


def _person(label: str) -> SelectField:
    # No one is preselected: handing evidence to, or naming as witness, the first name in the
    # list by accident must not be possible.
    return SelectField(label, coerce=str, default="", validate_choice=False)


class CaseForm(PageForm):
    schema = s.CaseCreateSchema
    submitting_agency = StringField(_l("Submitting agency"))
    agency_case_number = StringField(_l("Agency case number"))
    offence = StringField(_l("Offence"))
    offence_date = DateField(_l("Offence date"))
    notes = TextAreaField(_l("Notes"))


class _ItemFacts(PageForm):
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validate_choice=False)
    description = TextAreaField(_l("Description"))
    quantity = IntegerField(_l("Quantity"), default=1)
    make = StringField(_l("Make"))
    model = StringField(_l("Model"))
    serial_number = StringField(_l("Serial number"))
    calibre = StringField(_l("Calibre"))
    is_serial_obliterated = BooleanField(_l("Serial number obliterated"))


class ReceiveForm(_ItemFacts):
    schema = s.ItemReceiveSchema
    from_agency = StringField(_l("Received from (agency)"))
    reason = TextAreaField(_l("Reason"))


class _CustodyForm(PageForm):
    #: the chain position the page showed, so a form submitted after the item moved is refused
    expected_seq = HiddenField()
    reason = TextAreaField(_l("Reason"))


class TransferForm(_CustodyForm):
    schema = s.TransferSchema
    to_user_id = _person(_l("Hand over to"))


class StoreForm(_CustodyForm):
    schema = s.StoreSchema
    location_id = SelectField(_l("Storage location"), coerce=str, validate_choice=False)


class CheckOutForm(_CustodyForm):
    schema = s.CheckOutSchema


class SealForm(_CustodyForm):
    schema = s.SealSchema
    seal_number = StringField(_l("Seal number"))


class UnsealForm(_CustodyForm):
    schema = s.UnsealSchema


class SampleForm(_CustodyForm):
    schema = s.SampleSchema
    kind = SelectField(_l("Sub-item kind"), choices=KIND_CHOICES, default=ItemKind.TEST_FIRE,
                       validate_choice=False)
    description = TextAreaField(_l("Description"))


class ReleaseForm(_CustodyForm):
    schema = s.ReleaseSchema
    to_agency = StringField(_l("Release to (agency)"))
    confirm = confirm_field()


class DestroyForm(_CustodyForm):
    schema = s.DestroySchema
    witness_id = _person(_l("Witness"))
    method = StringField(_l("Method"))
    confirm = confirm_field()


class OverrideForm(_CustodyForm):
    """A manager's release or destruction of an item someone else holds (or in storage)."""

    schema = s.DisposalRequestCreateSchema
    action = SelectField(_l("Action"), choices=[SelectChoice(DisposalAction.RELEASE, _l("Release")),
                                            SelectChoice(DisposalAction.DESTROY, _l("Destroy"))],
                         validate_choice=False)
    override_reason = SelectField(_l("Why not its holder"), default="", validate_choice=False,
                                  choices=[SelectChoice("", _l("— choose —")),
                                           *(SelectChoice(k, v)
                                             for k, v in OVERRIDE_REASONS.items())])
    to_agency = StringField(_l("Release to (agency)"))
    witness_id = _person(_l("Witness (destruction)"))
    method = StringField(_l("Method (destruction)"))
    confirm = confirm_field()


@dataclass(frozen=True)
class Action:
    """How one custody action appears on the item page."""

    form: type[_CustodyForm]
    title: str  # lazy: translated when the page is drawn
    fields: tuple[str, ...]
    button: str
    is_danger: bool = False


#: action name (URL segment) -> its form and presentation, in page order; ``return`` posts the
#: store form, recorded as a return to storage
ACTIONS: dict[str, Action] = {
    "check-out": Action(CheckOutForm, _l("Check out to me"), ("reason",), _l("Check out")),
    "transfer": Action(TransferForm, _l("Hand over"), ("to_user_id", "reason"), _l("Hand over")),
    "store": Action(StoreForm, _l("Put in storage"), ("location_id", "reason"), _l("Store")),
    "return": Action(StoreForm, _l("Return to storage"), ("location_id", "reason"), _l("Return")),
    "seal": Action(SealForm, _l("Seal the item"), ("seal_number", "reason"), _l("Apply seal")),
    "unseal": Action(UnsealForm, _l("Break seal"), ("reason",), _l("Break seal")),
    "sample": Action(SampleForm, _l("Create sub-item"), ("kind", "description", "reason"),
                     _l("Create sub-item")),
    "release": Action(ReleaseForm, _l("Release to agency"), ("to_agency", "reason", "confirm"),
                      _l("Release"), is_danger=True),
    "destroy": Action(DestroyForm, _l("Destroy"), ("witness_id", "method", "reason", "confirm"),
                      _l("Destroy"), is_danger=True),
    "disposal-requests": Action(OverrideForm, _l("Manager's override: release or destroy"),
                                ("action", "override_reason", "reason", "to_agency",
                                 "witness_id", "method", "confirm"),
                                _l("Request (a second person confirms)"),
                                is_danger=True),
}


def _people(actor: User, exclude: set[int | None]) -> list[SelectChoice]:
    people = [SelectChoice(u.id, u.full_name) for u in lab_members(actor, HOLD_EVIDENCE)
              if u.id not in exclude]
    return [SelectChoice("", _l("— choose —")), *people]


def _locations(actor: User, exclude: int | None) -> list[SelectChoice]:
    rows = db.session.execute(lab_select(StorageLocation, actor)
                              .where(StorageLocation.is_active)
                              .order_by(StorageLocation.code)).scalars()
    places = [SelectChoice(loc.id, f"{loc.code} · {loc.name}") for loc in rows
              if loc.id != exclude]
    # Where an item goes is chosen, not defaulted: a browser selects a list's first entry, and
    # a stored item in the wrong vault is a custody error. A single place is no choice.
    return places if len(places) == 1 else [SelectChoice("", _l("— choose —")), *places]


def action_form(action: str, actor: User, item: Item, *, bound: bool) -> _CustodyForm:
    """The form for one custody action with its pick lists filled for this item.

    ``bound`` reads the posted request; an unbound form (for the page) carries the item's
    current chain position as ``expected_seq``.
    """
    cls = ACTIONS[action].form
    form = cls() if bound else cls(formdata=None)
    if isinstance(form, TransferForm):
        form.to_user_id.choices = _people(actor, {item.holder_user_id})
    elif isinstance(form, StoreForm):
        form.location_id.choices = _locations(actor, item.holder_location_id)
    elif isinstance(form, DestroyForm | OverrideForm):
        form.witness_id.choices = _people(actor, {actor.id})
    if not bound and "expected_seq" in form:
        form.expected_seq.data = str(item.custody_seq)
    if "confirm" in form:
        ask(form, consequence(action, item))
    return form


def consequence(action: str, item: Item) -> str:
    """The sentence a person confirms before a release or destruction: the item and what
    happens to it."""
    if action == "release":
        return _("I confirm: item %(barcode)s leaves the lab's custody for good, released to the "
                 "agency named above. It then takes no further custody events, scans, samples "
                 "or examinations.", barcode=item.barcode)
    if action == "destroy":
        return _("I confirm: item %(barcode)s is destroyed now, before the witness named above. "
                 "This cannot be undone: it takes no further custody events, scans, samples or "
                 "examinations.", barcode=item.barcode)
    return _("I confirm: I ask for item %(barcode)s to be released or destroyed (as chosen "
             "above) on my authority. Nothing happens to it until a second person confirms; "
             "then it is final.", barcode=item.barcode)


def decision_consequence(row: DisposalRequest) -> str:
    """The sentence the second person confirms before an override takes effect."""
    values = {"barcode": row.item.barcode, "manager": row.requested_by.full_name}
    if row.action == DisposalAction.RELEASE:
        return _("I confirm the release of item %(barcode)s to %(agency)s, requested by "
                 "%(manager)s: it leaves the lab's custody for good and cannot be undone.",
                 agency=row.to_agency, **values)
    return _("I confirm the destruction of item %(barcode)s, requested by %(manager)s: it is "
             "recorded now and cannot be undone.", **values)


def _returning(item: Item) -> bool:
    # An item that was checked out of storage goes back as "returned", else it is "stored".
    return any(e.kind == CustodyKind.CHECKED_OUT for e in item.events)


def item_actions(actor: User, item: Item) -> list[tuple[str, Action, _CustodyForm]]:
    """The custody actions this user may take on this item now, with their unbound forms."""
    if item.is_disposed or not actor.has_role(*HOLD_EVIDENCE):
        return []
    in_hand = item.holder_user_id == actor.id
    holds = in_hand or actor.has_role(*OVERRIDE_CUSTODY)
    names = set()
    if item.holder_location_id is not None:
        names.add("check-out")
    if holds:
        names |= {"transfer", "return" if _returning(item) else "store",
                  "unseal" if item.intact_seal else "seal"}
        if item.intact_seal is None:
            names.add("sample")
    # Release and destruction in hand; a manager who does not hold the item asks for an
    # override that a second person confirms.
    if in_hand:
        names |= {"release", "destroy"}
    elif actor.has_role(*OVERRIDE_CUSTODY) and pending_for(item) is None:
        names.add("disposal-requests")
    return [(name, spec, action_form(name, actor, item, bound=False))
            for name, spec in ACTIONS.items() if name in names]


class ButtonForm(PageForm):
    """A button that posts (confirm, cancel): its CSRF token and nothing else."""


class DecisionConfirmForm(PageForm):
    """The second person's confirmation of an override: the button and its check box."""

    confirm = confirm_field()


@dataclass(frozen=True)
class PendingOverride:
    """An override waiting for its second person, with the buttons this user may press."""

    request: DisposalRequest
    may_confirm: bool
    may_cancel: bool
    form: ButtonForm
    #: the confirmation's form, with the sentence on its check box (bound when refused)
    confirm_form: DecisionConfirmForm


def pending_override(actor: User, item: Item, confirm_form: DecisionConfirmForm | None = None
                     ) -> PendingOverride | None:
    row = pending_for(item)
    if row is None:
        return None
    confirm_form = ask(confirm_form or DecisionConfirmForm(formdata=None),
                       decision_consequence(row))
    return PendingOverride(row, actor.has_role(*HOLD_EVIDENCE) and actor.id != row.requested_by_id,
                           actor.has_role(*OVERRIDE_CUSTODY), ButtonForm(formdata=None),
                           confirm_form)


def may_intake(actor: User) -> bool:
    return actor.has_role(*RECEIVE_EVIDENCE)
