"""The lab manager's override: release or destroy an item someone else holds (or that is in
storage), with a reason from a list, confirmed by a second person.

The request writes only the request; the item stays in custody, unchanged, until a second
person confirms. Every rule is judged again at the confirmation (the item may have been
sealed, examined or linked meanwhile), and the confirmation appends the custody event on the
manager's authority, naming the confirming person in the event's details.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ballistics.auth.access import colleague, require_role
from ballistics.auth.models import User
from ballistics.core.errors import Conflict, Forbidden, Unprocessable
from ballistics.core.labels import label
from ballistics.core.timeutil import utcnow
from ballistics.evidence import custody
from ballistics.evidence.holds import refuse_disposal
from ballistics.evidence.models import (
    CustodyEvent,
    DisposalAction,
    DisposalRequest,
    Item,
    OverrideReason,
    RequestStatus,
)
from ballistics.evidence.permissions import HOLD_EVIDENCE, OVERRIDE_CUSTODY
from ballistics.extensions import db


def pending_for(item: Item) -> DisposalRequest | None:
    return db.session.scalar(select(DisposalRequest).where(
        DisposalRequest.item_id == item.id, DisposalRequest.status == RequestStatus.PENDING))


def request(actor: User, item: Item, *, action: str, override_reason: str, reason: str,
            to_agency: str = "", witness_id: int | None = None, method: str = "",
            expected_seq: int | None = None) -> DisposalRequest:
    """Record a manager's override request; nothing happens to the item yet."""
    require_role(actor, OVERRIDE_CUSTODY, "override custody")
    custody.refuse_stale_or_disposed(item, expected_seq)
    if item.holder_user_id == actor.id:
        raise Conflict(_("You hold item %(barcode)s: %(action)s it in hand; the override is for "
                         "items someone else holds or that are in storage.", barcode=item.barcode,
                         action=action), code="holder_acts")
    action = DisposalAction(action)
    if action is DisposalAction.RELEASE and not to_agency.strip():
        raise Unprocessable(_("Name the agency the item is released to."),
                            fields={"to_agency": [_("Required for a release.")]})
    witness = (custody.destruction_witness(actor, witness_id)
               if action is DisposalAction.DESTROY else None)
    refuse_disposal(item, action, override=True)
    if pending_for(item) is not None:
        raise Conflict(_("Item %(barcode)s already has an override waiting for confirmation.",
                         barcode=item.barcode),
                       code="request_pending")
    row = DisposalRequest(lab_id=item.lab_id, item_id=item.id, action=action,
                          override_reason=OverrideReason(override_reason), reason=reason,
                          to_agency=to_agency if action is DisposalAction.RELEASE else "",
                          witness_id=witness.id if witness else None, method=method,
                          requested_by_id=actor.id, requested_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


def _pending(row: DisposalRequest) -> None:
    if row.status != RequestStatus.PENDING:
        raise Conflict(_("Override request %(id)s was already %(status)s.", id=row.id,
                         status=label(row.status)),
                       code="request_decided")


def confirm(actor: User, row: DisposalRequest) -> CustodyEvent:
    """A second person confirms the override: the rules are judged again and the release or
    destruction event is appended."""
    require_role(actor, HOLD_EVIDENCE, "confirm a custody override")
    _pending(row)
    if actor.id == row.requested_by_id:
        raise Forbidden(_("You requested this override; a second person must confirm it."),
                        code="own_request")
    item, manager = row.item, row.requested_by
    if item.is_disposed:
        raise Conflict(_("Item %(barcode)s was %(status)s; it moves no more.",
                         barcode=item.barcode, status=label(item.status)),
                       code="item_disposed")
    if not manager.is_active or not manager.has_role(*OVERRIDE_CUSTODY):
        raise Conflict(_("%(full_name)s no longer holds the lab manager role; the override "
                         "lapsed.", full_name=manager.full_name), code="override_lapsed")
    refuse_disposal(item, row.action, override=True)
    witness = None
    if row.action is DisposalAction.DESTROY:
        witness = colleague(row.witness_id, manager, field="witness_id")
    event = custody.dispose(item, row.action, manager, reason=row.reason,
                            to_agency=row.to_agency, witness=witness, method=row.method,
                            details={"override": row.override_reason.value,
                                     "override_request_id": row.id,
                                     "confirmed_by_id": actor.id})
    row.status, row.decided_by_id, row.decided_at = RequestStatus.CONFIRMED, actor.id, utcnow()
    row.event_id = event.id
    db.session.flush()
    return event


def cancel(actor: User, row: DisposalRequest) -> DisposalRequest:
    """Withdraw an override that was not confirmed (the requester or another manager)."""
    require_role(actor, OVERRIDE_CUSTODY, "cancel a custody override")
    _pending(row)
    row.status, row.decided_by_id, row.decided_at = RequestStatus.CANCELLED, actor.id, utcnow()
    db.session.flush()
    return row
