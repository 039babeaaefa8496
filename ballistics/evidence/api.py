"""JSON API for cases, items, storage and custody: parse, call a service, serialise."""

from __future__ import annotations

from flask import g

from ballistics.auth.access import get_in_lab, lab_select
from ballistics.core.api import ApiBlueprint
from ballistics.core.schema import PageQuery
from ballistics.evidence import custody, disposal
from ballistics.evidence import schemas as s
from ballistics.evidence.chain import verify_chain
from ballistics.evidence.models import Case, CustodyEvent, DisposalRequest, StorageLocation
from ballistics.evidence.services import (
    case_ref_for_intake,
    create_case,
    create_location,
    search_cases,
)
from ballistics.extensions import db

bp = ApiBlueprint("evidence_api", __name__, url_prefix="/api/v1")
TAGS = ["evidence"]
#: a custody operation: a role without the right (403), no such item (404), the item has moved
#: on or may not take it (409), a body or colleague that does not fit (422)
OPS = (403, 404, 409, 422)


@bp.operation("/cases", "POST", summary="Open a case", tags=TAGS, body=s.CaseCreateSchema,
              response=s.CaseSchema, status=201, errors=(403, 422))
def case_create(data: dict):
    return create_case(g.api_user, **data)


@bp.operation("/cases", summary="List and search cases", tags=TAGS, query=PageQuery,
              response=s.CaseSchema, many=True)
def case_list(params: dict):
    return search_cases(g.api_user, params["q"], params["limit"], params["offset"])


@bp.operation("/cases/<int:case_id>", summary="A case with its items", tags=TAGS,
              response=s.CaseSchema, errors=(404,))
def case_get(case_id: int):
    return get_in_lab(Case, case_id, g.api_user, what="case")


@bp.operation("/cases/<int:case_id>/items", "POST", summary="Receive an item into custody",
              tags=TAGS, body=s.ItemReceiveSchema, response=s.ItemSchema, status=201,
              errors=OPS)
def item_receive(case_id: int, data: dict):
    return custody.receive(g.api_user, case_ref_for_intake(g.api_user, case_id), **data,
                           answer_only=True)


@bp.operation("/items/<int:item_id>", summary="An item and its current holder", tags=TAGS,
              response=s.ItemSchema, errors=(404,))
def item_get(item_id: int):
    return custody.load_item(g.api_user, item_id)


@bp.operation("/items/<int:item_id>/custody", summary="The item's chain of custody", tags=TAGS,
              response=s.CustodyEventSchema, many=True, errors=(404,))
def item_custody(item_id: int):
    item = custody.load_item(g.api_user, item_id)
    return db.session.execute(lab_select(CustodyEvent, g.api_user)
                              .where(CustodyEvent.item_id == item.id)
                              .order_by(CustodyEvent.seq)).scalars().all()


@bp.operation("/items/<int:item_id>/verify", summary="Recompute the custody hash chain",
              tags=TAGS, response=s.ChainVerificationSchema, errors=(404,))
def item_verify(item_id: int):
    return verify_chain(db.session, custody.load_item(g.api_user, item_id))


def _custody_op(path: str, summary: str, schema: type, service, *, returns_item: bool = False,
                **fixed) -> None:
    response = s.ItemSchema if returns_item else s.CustodyEventSchema

    def view(item_id: int, data: dict):
        item = custody.load_item(g.api_user, item_id)
        return service(g.api_user, item, **data, **fixed)

    view.__name__ = f"item_{path.replace('-', '_')}"
    bp.operation(f"/items/<int:item_id>/{path}", "POST", summary=summary, tags=TAGS,
                 body=schema, response=response, status=201, errors=OPS)(view)


_custody_op("transfer", "Hand the item over to a colleague", s.TransferSchema, custody.transfer)
_custody_op("store", "Put the item in a storage location", s.StoreSchema, custody.store)
_custody_op("check-out", "Take the item out of storage", s.CheckOutSchema, custody.check_out)
_custody_op("return", "Return the item to storage", s.StoreSchema, custody.store, returning=True)
_custody_op("seal", "Seal the item", s.SealSchema, custody.seal)
_custody_op("unseal", "Break the item's seal", s.UnsealSchema, custody.unseal)
_custody_op("sample", "Create a sub-item (e.g. a test fire)", s.SampleSchema, custody.sample,
            returns_item=True)
_custody_op("release", "Release the item you hold to an outside agency", s.ReleaseSchema,
            custody.release)
_custody_op("destroy", "Destroy the item you hold (witness required)", s.DestroySchema,
            custody.destroy)


@bp.operation("/items/<int:item_id>/disposal-requests", "POST", tags=TAGS,
              summary="A lab manager's override: release or destroy an item someone else holds "
                      "(nothing happens until a second person confirms)",
              body=s.DisposalRequestCreateSchema, response=s.DisposalRequestSchema, status=201,
              errors=(403, *OPS))
def disposal_request(item_id: int, data: dict):
    return disposal.request(g.api_user, custody.load_item(g.api_user, item_id), **data)


@bp.operation("/items/<int:item_id>/disposal-requests", summary="The item's override requests",
              tags=TAGS, response=s.DisposalRequestSchema, many=True, errors=(404,))
def disposal_requests(item_id: int):
    item = custody.load_item(g.api_user, item_id)
    return db.session.scalars(lab_select(DisposalRequest, g.api_user)
                              .where(DisposalRequest.item_id == item.id)
                              .order_by(DisposalRequest.id)).all()


@bp.operation("/disposal-requests/<int:request_id>/confirm", "POST", tags=TAGS,
              summary="Confirm a manager's override (a second person): appends the event",
              response=s.CustodyEventSchema, status=201, errors=(403, 404, 409, 422))
def disposal_confirm(request_id: int):
    row = get_in_lab(DisposalRequest, request_id, g.api_user, what="override request")
    return disposal.confirm(g.api_user, row)


@bp.operation("/disposal-requests/<int:request_id>/cancel", "POST", tags=TAGS,
              summary="Cancel an override that was not confirmed",
              response=s.DisposalRequestSchema, errors=(403, 404, 409))
def disposal_cancel(request_id: int):
    row = get_in_lab(DisposalRequest, request_id, g.api_user, what="override request")
    return disposal.cancel(g.api_user, row)


@bp.operation("/locations", summary="Storage locations", tags=TAGS, response=s.LocationSchema,
              many=True)
def location_list():
    return db.session.execute(lab_select(StorageLocation, g.api_user)
                              .order_by(StorageLocation.code)).scalars().all()


@bp.operation("/locations", "POST", summary="Add a storage location", tags=TAGS,
              body=s.LocationCreateSchema, response=s.LocationSchema, status=201,
              errors=(403, 409, 422))
def location_create(data: dict):
    return create_location(g.api_user, **data)
