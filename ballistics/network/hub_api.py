"""The hub's API for lab nodes (``/hub/v1``, only when ``APP_ROLE=hub``). Every request is
signed by a member lab (:mod:`.trust`); no cookies, no bearer tokens."""

from __future__ import annotations

from flask import abort, current_app, g

from ballistics.core.api import ApiBlueprint
from ballistics.core.context import Actor
from ballistics.network import hub, trust
from ballistics.network import schemas as s

bp = ApiBlueprint("hub_api", __name__, url_prefix="/hub/v1")
TAGS = ["hub (signed by member labs)"]
#: signed requests are refused 401/403; a lab node (APP_ROLE=lab) has no hub API: 404
SIGNED = (401, 403, 404, 422)


@bp.before_request
def signed_member() -> None:
    if current_app.config["APP_ROLE"] != "hub":
        abort(404)
    g.member = trust.authenticate()
    # The hub's audit log names the member lab that signed what it wrote (it said
    # "web:anonymous" for every lab's search, lead and exchange).
    g.actor = Actor(None, None, f"hub-api:{g.member.code}")


@bp.operation("/records", "POST", summary="Share a record (idempotent per version)", tags=TAGS,
              body=s.RecordIn, response=s.Stored, public=True, errors=SIGNED)
def record_put(data: dict):
    record, stored = hub.store_record(g.member, data)
    return {"id": record.id, "stored": stored}


@bp.operation("/records/batch", "POST", summary="Publish and withdraw records, in order",
              tags=TAGS, body=s.BatchIn, response=s.BatchOut, public=True, errors=SIGNED)
def records_batch(data: dict):
    return {"results": hub.apply_batch(g.member, data["operations"])}


@bp.operation("/records/<int:record_id>/withdraw", "POST", summary="Withdraw a shared record",
              tags=TAGS, body=s.WithdrawIn, response=s.Stored, public=True, errors=SIGNED)
def record_withdraw(record_id: int, data: dict):
    return {"id": record_id, "stored": hub.withdraw_record(g.member, record_id, data["version"])}


@bp.operation("/searches", "POST", summary="Search the regional pool", tags=TAGS,
              body=s.SearchIn, response=s.HubSearchOut, status=202, public=True, errors=SIGNED)
def search_submit(data: dict):
    return hub.submit_search(g.member, data)[0]


@bp.operation("/searches/<int:search_id>", summary="A partner search and its candidates",
              tags=TAGS, response=s.HubSearchOut, public=True, errors=(*SIGNED, 404))
def search_get(search_id: int):
    return hub.get_search(g.member, search_id)


@bp.operation("/leads", "POST", summary="Ask the owning lab about a candidate", tags=TAGS,
              body=s.LeadIn, response=s.HubLeadOut, status=201, public=True,
              errors=(*SIGNED, 404, 409))
def lead_create(data: dict):
    return hub.create_lead(g.member, data)[0]


@bp.operation("/leads/<int:lead_id>/answer", "POST", summary="The owner answers a lead",
              tags=TAGS, body=s.AnswerIn, response=s.HubLeadOut, public=True,
              errors=(*SIGNED, 404, 409))
def lead_answer(lead_id: int, data: dict):
    return hub.answer_lead(g.member, lead_id, data["status"], data["answer"])


@bp.operation("/inbox", summary="Events for the calling lab after a cursor", tags=TAGS,
              query=s.InboxQuery, response=s.EventOut, many=True, public=True, errors=SIGNED)
def inbox(params: dict):
    return hub.inbox(g.member, params["after"], params["limit"])


@bp.operation("/labs", summary="The active member labs (codes and names): whom a member may "
              "name as a partner", tags=TAGS, response=s.MemberLabOut, many=True, public=True,
              errors=SIGNED)
def labs():
    # A read of the member list, like the inbox: not audited (nothing written but the nonce).
    return hub.directory()


@bp.operation("/transfers", "POST", summary="Send a physical exhibit to a partner lab (its "
              "release, proven in the sender's ledger; idempotent)", tags=TAGS,
              body=s.HubTransferIn, response=s.HubTransferOut, status=201, also=(200,),
              public=True, errors=(*SIGNED, 404, 409))
def transfer_send(data: dict):
    transfer, created = hub.relay_transfer(g.member, data)
    return transfer, (201 if created else 200)


@bp.operation("/transfers/receipts", "POST", summary="The receiver recorded an exhibit's "
              "arrival (idempotent)", tags=TAGS, body=s.HubReceiptIn, response=s.HubTransferOut,
              public=True, errors=(*SIGNED, 404, 409))
def transfer_receipt(data: dict):
    return hub.record_receipt(g.member, data)[0]
