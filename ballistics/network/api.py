"""A lab node's network API for its own users (bearer tokens): sharing policy, partner searches,
leads and who looked at the lab's data."""

from __future__ import annotations

from flask import Response, g, request
from flask_babel import gettext as _
from sqlalchemy import select

from ballistics.auth.access import get_in_lab, require_role
from ballistics.comparisons.models import Scan
from ballistics.core.api import ApiBlueprint
from ballistics.core.errors import NotFound, Unprocessable
from ballistics.core.ratelimit import upload_limit
from ballistics.core.schema import PageOnlyQuery
from ballistics.evidence.custody import load_item
from ballistics.evidence.models import Case
from ballistics.extensions import db
from ballistics.network import exchange, interchange, node
from ballistics.network import schemas as s
from ballistics.network.models import (
    ExhibitTransfer,
    ImportedScan,
    NetworkAccess,
    PartnerLead,
    PartnerSearch,
    ShareExclusion,
)
from ballistics.network.permissions import MANAGE_SHARING

bp = ApiBlueprint("network_api", __name__, url_prefix="/api/v1")
TAGS = ["network"]


def _page(stmt, params: dict) -> list:
    """One page of a list that grows for ever (``limit`` rows after ``offset``)."""
    return db.session.scalars(stmt.limit(params["limit"]).offset(params["offset"])).all()


def _policy_out(policy) -> dict:
    return {"mode": policy.mode.value, "partners": policy.partners,
            "offence_contains": policy.criteria.get("offence_contains", []),
            "agency_contains": policy.criteria.get("agency_contains", [])}


@bp.operation("/network/policy", summary="What the lab shares with the region", tags=TAGS,
              response=s.PolicyOut, errors=(403,))
def policy_get():
    require_role(g.api_user, MANAGE_SHARING, "see the sharing policy")
    return _policy_out(node.policy_of(g.api_user.lab_id))


@bp.operation("/network/policy", "PUT", summary="Set what the lab shares (applied at once)",
              tags=TAGS, body=s.PolicyIn, response=s.PolicyOut, errors=(403, 409, 422))
def policy_put(data: dict):
    return _policy_out(node.set_policy(g.api_user, **data))


@bp.operation("/network/exclusions", "POST", summary="Never share a case (e.g. sealed)",
              tags=TAGS, body=s.ExclusionIn, response=s.ExclusionOut, status=201,
              errors=(403, 404, 409, 422))
def exclusion_create(data: dict):
    case = get_in_lab(Case, data["case_id"], g.api_user, what="case")
    return node.exclude_case(g.api_user, case, data["reason"])


@bp.operation("/network/exclusions/<int:exclusion_id>/lift", "POST",
              summary="End an exclusion: the sharing policy decides again", tags=TAGS,
              body=s.LiftExclusionIn, response=s.ExclusionOut, errors=(403, 404, 409, 422))
def exclusion_lift(exclusion_id: int, data: dict):
    exclusion = get_in_lab(ShareExclusion, exclusion_id, g.api_user, what="exclusion")
    return node.lift_exclusion(g.api_user, exclusion, data["reason"])


@bp.operation("/scans/<int:scan_id>/share/withdraw", "POST",
              summary="Withdraw a shared record (removed from every later result)", tags=TAGS,
              body=s.WithdrawShareIn, response=s.WithdrawShareOut, status=202,
              errors=(403, 404, 409, 422))
def share_withdraw(scan_id: int, data: dict):
    scan = get_in_lab(Scan, scan_id, g.api_user, what="scan")
    shared = node.withdraw_scan(g.api_user, scan, data["reason"])
    return {"scan_id": scan.id, "reference": shared.reference, "withdrawn": True}


@bp.operation("/scans/<int:scan_id>/partner-searches", "POST",
              summary="Search a scan against what partner labs share", tags=TAGS,
              body=s.PartnerSearchIn, response=s.PartnerSearchOut, status=202,
              errors=(403, 404, 409, 422))
def partner_search_create(scan_id: int, data: dict):
    scan = get_in_lab(Scan, scan_id, g.api_user, what="scan")
    return node.start_partner_search(g.api_user, scan, k=data["k"])


@bp.operation("/partner-searches/<int:search_id>", summary="A partner search and its candidates",
              tags=TAGS, response=s.PartnerSearchOut, errors=(404,))
def partner_search_get(search_id: int):
    return get_in_lab(PartnerSearch, search_id, g.api_user, what="partner search")


@bp.operation("/partner-searches/<int:search_id>/leads", "POST",
              summary="Ask the owning lab about a candidate", tags=TAGS, body=s.LeadRequestIn,
              response=s.PartnerLeadOut, status=201, errors=(403, 404, 409, 422))
def lead_request(search_id: int, data: dict):
    search = get_in_lab(PartnerSearch, search_id, g.api_user, what="partner search")
    return node.request_lead(g.api_user, search, data["record"], data["note"])


@bp.operation("/network/leads", summary="Leads asked by and of this lab, newest first",
              tags=TAGS, query=PageOnlyQuery, response=s.PartnerLeadOut, many=True)
def leads(params: dict):
    return _page(select(PartnerLead).where(PartnerLead.lab_id == g.api_user.lab_id)
                 .order_by(PartnerLead.id.desc()), params)


@bp.operation("/network/leads/<int:lead_id>/answer", "POST",
              summary="Answer a partner's lead on our record", tags=TAGS, body=s.LeadAnswerIn,
              response=s.PartnerLeadOut, errors=(403, 404, 409, 422))
def lead_answer(lead_id: int, data: dict):
    return node.answer_lead(g.api_user, node.lead_in_lab(g.api_user, lead_id), data["status"],
                            data["answer"])


@bp.operation("/network/accesses", summary="Who looked at our data, and when, newest first",
              tags=TAGS, query=PageOnlyQuery, response=s.AccessOut, many=True, errors=(403,))
def accesses(params: dict):
    require_role(g.api_user, MANAGE_SHARING, "see who looked at the lab's data")
    return _page(select(NetworkAccess).where(NetworkAccess.lab_id == g.api_user.lab_id)
                 .order_by(NetworkAccess.id.desc()), params)


# -- interchange -------------------------------------------------------------------------------


@bp.operation("/scans/<int:scan_id>/x3p", summary="Export a shared scan as an x3p file "
              "(ISO 25178-72) with its metadata (instrument, calibration date, lab, "
              "measurement date, resolution); audited", tags=TAGS,
              errors=(403, 404, 409))
def scan_export(scan_id: int):
    scan = get_in_lab(Scan, scan_id, g.api_user, what="scan")
    export = interchange.export_scan(g.api_user, scan)
    return Response(export.data, mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        "X-Content-SHA256": export.sha256})


@bp.operation("/items/<int:item_id>/reference-imports", "POST",
              summary="Import an x3p scanned by another system as a reference, keeping its "
                      "provenance", tags=TAGS, form=s.ImportIn, response=s.ProvenanceOut,
              status=201, also=(200,), errors=(403, 404, 409, 413, 422, 429))
@upload_limit
def reference_import(item_id: int, data: dict):
    item = load_item(g.api_user, item_id)
    upload = request.files.get("file")
    if upload is None:
        raise Unprocessable(_("Attach the x3p file as the multipart field 'file'."),
                            fields={"file": [_("Missing file.")]})
    _scan, provenance, created = interchange.import_reference(
        g.api_user, item, data=upload.read(), filename=upload.filename or "import.x3p", **data)
    return provenance, (201 if created else 200)


@bp.operation("/scans/<int:scan_id>/provenance", summary="Where an imported reference scan "
              "came from", tags=TAGS, response=s.ProvenanceOut, errors=(404,))
def scan_provenance(scan_id: int):
    scan = get_in_lab(Scan, scan_id, g.api_user, what="scan")
    found = db.session.scalar(select(ImportedScan).where(ImportedScan.scan_id == scan.id))
    if found is None:
        raise NotFound(_("Scan %(id)s was not imported from another system.", id=scan.id))
    return found


# -- physical exchange -----------------------------------------------------------------------


@bp.operation("/items/<int:item_id>/exhibit-transfers", "POST",
              summary="Send an exhibit to a partner lab: its release, linked across both "
                      "ledgers (the hub confirms the partner first: 422 if it is no active "
                      "member, 503 if the hub cannot be asked; nothing released then)",
              tags=TAGS, body=s.SendExhibitIn, response=s.ExhibitTransferOut,
              status=201, errors=(403, 404, 409, 422, 503))
def exhibit_send(item_id: int, data: dict):
    item = load_item(g.api_user, item_id)
    return exchange.send_exhibit(g.api_user, item, **data)


@bp.operation("/exhibit-transfers", summary="Exhibits sent to and from partner labs, newest "
              "first", tags=TAGS, query=PageOnlyQuery, response=s.ExhibitTransferOut, many=True)
def exhibit_transfers(params: dict):
    return _page(select(ExhibitTransfer).where(ExhibitTransfer.lab_id == g.api_user.lab_id)
                 .order_by(ExhibitTransfer.id.desc()), params)


@bp.operation("/exhibit-transfers/<int:transfer_id>", summary="One exhibit transfer",
              tags=TAGS, response=s.ExhibitTransferOut, errors=(404,))
def exhibit_transfer(transfer_id: int):
    return exchange.transfer_in_lab(g.api_user, transfer_id)


@bp.operation("/exhibit-transfers/<int:transfer_id>/receipt", "POST",
              summary="Record the arrival of a partner's exhibit (its receipt references the "
                      "partner's release)", tags=TAGS, body=s.ReceiveExhibitIn,
              response=s.ExhibitTransferOut, status=201, errors=(403, 404, 409, 422))
def exhibit_receive(transfer_id: int, data: dict):
    transfer = exchange.transfer_in_lab(g.api_user, transfer_id)
    case = get_in_lab(Case, data["case_id"], g.api_user, what="case")
    return exchange.receive_exhibit(g.api_user, transfer, case, reason=data["reason"])
