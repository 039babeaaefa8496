"""The court chain-of-custody report as a PDF a clerk can file.

The PDF is drawn from one dict, the report's *data*: every value it prints. The data's
canonical JSON is hashed (SHA-256) and the digest printed in every page's footer; the lab keeps
the data (``court_reports``, append-only) so anyone holding a copy can fetch the data by that
digest, recompute it and compare it with what the paper says. The hash identifies the document;
what proves the chain is the verification it states and the ledger proof file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from ballistics.audit.services import record_read
from ballistics.auth.models import User
from ballistics.core.labels import label
from ballistics.core.numbers import number
from ballistics.evidence import court_pdf
from ballistics.evidence.chain import ChainVerification
from ballistics.evidence.models import CourtReport, Item
from ballistics.evidence.reports import CustodyReport, custody_report, fmt_utc
from ballistics.extensions import db

FORMAT = "ballistics.evidence.custody-report/v1"


def canonical_json(data: dict) -> bytes:
    """The bytes the footer hash covers: keys sorted, no insignificant whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _kind(value: object) -> str:
    """A stored code as the reader's language names it (the events' actions are named so too:
    the data is what the reader's copy prints)."""
    return label(value)


def report_data(r: CustodyReport) -> dict:
    """Everything the PDF prints, as plain JSON values (times as the report writes them)."""
    item, case = r.item, r.case
    cp = r.proof.anchor.checkpoint if r.proof else None
    checkpoint = None
    if cp is not None:
        checkpoint = {"entries": cp.size, "signed_at": fmt_utc(cp.created_at),
                      "cosigned_by": [[name, fmt_utc(_from_ts(ts))]
                                      for name, ts in r.proof.check.witnessed]}
    return {
        "format": FORMAT,
        "lab": {"code": r.lab.code, "name": r.lab.name, "country": r.lab.country or ""},
        "case": {"lab_case_number": case.lab_case_number,
                 "agency_case_number": case.agency_case_number or "",
                 "submitting_agency": case.submitting_agency, "offence": case.offence or "",
                 "offence_date": case.offence_date.isoformat() if case.offence_date else ""},
        "item": {"barcode": item.barcode, "kind": _kind(item.kind), "quantity": item.quantity,
                 "description": item.description or "", "make": item.make or "",
                 "model": item.model or "", "serial_number": item.serial_number or "",
                 "serial_obliterated": bool(item.is_serial_obliterated),
                 "calibre": item.calibre or "", "status": _kind(item.status),
                 "holder": item.holder_label,
                 "sampled_from": item.parent.barcode if item.parent else "",
                 "custody_head": item.custody_head or ""},
        "seals": [{"number": s.number, "applied_at": fmt_utc(s.applied_at),
                   "broken_at": fmt_utc(s.broken_at) if s.broken_at else "",
                   "broken_reason": s.broken_reason or ""} for s in item.seals],
        "events": [{"seq": e.seq, "action": e.label, "time": fmt_utc(e.occurred_at),
                    "from": e.source, "to": e.target, "recorded_by": e.actor,
                    "witness": e.witness, "reason": e.reason, "details": e.details,
                    "hash": e.hash, "prev_hash": e.prev_hash} for e in r.rows],
        "verification": {"state": r.verdict.state, "result": r.verdict.badge,
                         "statement": r.verdict.statement,
                         "broken_at_event": r.result.broken_seq},
        "checkpoint": checkpoint,
        "proof_checks": r.proof.check.text() if r.proof else "",
        "sub_items": [{"barcode": s.item.barcode, "kind": _kind(s.item.kind),
                       "status": _kind(s.item.status), "holder": s.item.holder_label,
                       "chain": _sub_chain(s.result)} for s in r.sub_items],
        "generated_at": fmt_utc(r.generated_at),
        "generated_by": f"{r.generated_by.full_name} ({r.generated_by.username})",
    }


def _sub_chain(result: ChainVerification) -> str:
    """A sub-item's chain as the HTML report says it, in the reader's language."""
    if result.ok:
        return ngettext("verified, %(count)s event", "verified, %(count)s events",
                        result.events, count=number(result.events))
    where = (" " + _("at event %(seq)s", seq=number(result.broken_seq))
             if result.broken_seq else "")
    return f"{_('BROKEN')}{where}: {result.reason}"


def _from_ts(ts: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class IssuedReport:
    pdf: bytes
    sha256: str
    filename: str


def issue_pdf(actor: User, item: Item, data_url: Callable[[str], str]) -> IssuedReport:
    """Build the item's report, keep its data under its digest, audit the disclosure (with the
    digest) and draw the PDF. ``data_url(digest)`` is where the data can be fetched (printed in
    the PDF)."""
    report = custody_report(actor, item, audit=False)
    data = report_data(report)
    raw = canonical_json(data)
    digest = sha256_hex(raw)
    if db.session.scalar(select(CourtReport.id).where(CourtReport.sha256 == digest)) is None:
        db.session.add(CourtReport(lab_id=item.lab_id, item_id=item.id, sha256=digest,
                                   data=raw.decode(), generated_at=report.generated_at,
                                   generated_by_id=actor.id))
    record_read(db.session, lab_id=item.lab_id, object_type="items", object_id=str(item.id),
                detail={"view": "chain_of_custody_report", "format": "pdf",
                        "barcode": item.barcode, "verified": report.result.ok,
                        "events": report.result.events, "ledger": report.verdict.state,
                        "sha256": digest})
    pdf = court_pdf.render(data, digest, data_url(digest))
    return IssuedReport(pdf, digest,
                        f"custody-report-{item.barcode.replace('/', '_')}.pdf")


def stored_data(lab_id: int, digest: str) -> bytes | None:
    """The kept data of a report of the lab, exactly the bytes the digest was computed over."""
    row = db.session.scalar(select(CourtReport).where(CourtReport.sha256 == digest.lower(),
                                                      CourtReport.lab_id == lab_id))
    return row.data.encode() if row is not None else None
