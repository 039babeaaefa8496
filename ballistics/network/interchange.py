"""Interchange with other systems: a shared scan leaves as an ISO 25178-72 x3p file carrying
OpenFMC's metadata, and an x3p scanned elsewhere comes in as a reference with its provenance.

OpenFMC's fields and where they live in the file (Record2 unless said):

=================  ===========================================================================
instrument         Instrument: Manufacturer, Model, Serial, Version (as the scanner wrote them)
calibration date   CalibrationDate
lab                Creator: the lab that collected the data (the original creator is kept; a
                   file without one gets this lab's name and code)
measurement date   Date (the original's; a file without one gets the scan's upload time, UTC)
resolution         Record1 CX/CY increments, in metres
=================  ===========================================================================

Export reads the stored original and writes it again with that metadata, so an exported file
re-reads as exactly the surface the lab holds. Only scans the lab shares leave (its sharing
policy already decided they may); a 2D image is refused, since an x3p claims heights. Import
keeps the received file unchanged in the image store (its SHA-256 is the scan's), records who
scanned it, with which system, when, and who imported it, and never shares it onwards: a
partner's data is the partner's to share.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC

from flask_babel import gettext as _
from sqlalchemy import select

from ballistics import imaging
from ballistics.audit.services import record_read
from ballistics.auth.access import require_role
from ballistics.auth.models import Lab, User
from ballistics.comparisons import scans, store
from ballistics.comparisons.models import Scan, ScanFormat
from ballistics.core.errors import Conflict, Unprocessable
from ballistics.core.timeutil import utcnow
from ballistics.evidence.models import Item
from ballistics.extensions import db
from ballistics.network.models import ImportedScan, SharedScan
from ballistics.network.permissions import EXPORT_SCANS, IMPORT_REFERENCES


@dataclass(frozen=True)
class Export:
    data: bytes
    filename: str
    sha256: str
    record: imaging.X3pRecord2


def export_record(scan: Scan, source: imaging.X3pRecord2) -> imaging.X3pRecord2:
    """The Record2 an exported file carries: the original's fields, with the lab and the
    measurement date filled in where the original had none."""
    lab = db.session.get(Lab, scan.lab_id)
    fields = source.as_dict()
    fields["creator"] = fields["creator"] or f"{lab.name} ({lab.code})"
    # the upload time is UTC: said so in the file (xsd:dateTime with its zone), so a reader
    # elsewhere can put it in their own zone
    fields["date"] = fields["date"] or scan.created_at.replace(microsecond=0,
                                                               tzinfo=UTC).isoformat()
    return imaging.X3pRecord2(**fields)


def export_scan(actor: User, scan: Scan) -> Export:
    """An x3p file of a shared scan, with its metadata; the read is audited (the scan leaves
    the lab)."""
    require_role(actor, EXPORT_SCANS, _("export scans to other systems"))
    shared = db.session.scalar(select(SharedScan).where(SharedScan.scan_id == scan.id))
    if shared is None or shared.is_withdrawn:
        raise Conflict(_("Scan %(id)s is not shared with the region; only shared scans are "
                         "exported (the sharing policy decides what leaves the lab).",
                         id=scan.id), code="not_shared")
    if scan.file_format != ScanFormat.X3P:
        raise Conflict(_("Scan %(id)s is a 2D image (%(format)s); an x3p file holds 3D "
                         "topography, so it is not exported as one.", id=scan.id,
                         format=scan.file_format), code="not_topography")
    surface = imaging.read_surface(store.read(scan.sha256), scan.filename, scan.pixel_um,
                                   max_bytes=scans.MAX_SCAN_BYTES,
                                   max_pixels=scans.MAX_SCAN_PIXELS)
    record = export_record(scan, imaging.X3pRecord2(**surface.meta.get("x3p", {})))
    data = imaging.write_x3p(surface, record=record)
    digest = hashlib.sha256(data).hexdigest()
    record_read(db.session, lab_id=scan.lab_id, object_type="scans", object_id=str(scan.id),
                detail={"view": "x3p_export", "reference": shared.reference,
                        "source_sha256": scan.sha256, "export_sha256": digest})
    return Export(data, f"{shared.reference}.x3p", digest, record)


def import_reference(actor: User, item: Item, *, data: bytes, filename: str, source_lab: str,
                     note: str = "", region: str = "breech_face", calibre: str = "",
                     firing_pin_shape: str = "", breech_face_class: str = ""
                     ) -> tuple[Scan, ImportedScan, bool]:
    """Import an x3p scanned by another system as a reference scan of ``item``; return (scan,
    provenance, created). The same file imported again for the same item is found, not
    duplicated."""
    require_role(actor, IMPORT_REFERENCES, _("import reference scans"))
    if not source_lab.strip():
        raise Unprocessable(_("Say where the file comes from (the lab or system that scanned "
                              "it)."), fields={"source_lab": [_("Required.")]})
    if not data.startswith(b"PK"):
        raise Unprocessable(_("%(file)s: only x3p files (ISO 25178-72) are imported as "
                              "references.", file=filename),
                            fields={"file": [_("Not an x3p file.")]})
    sha = store.digest(data)
    existing = db.session.scalar(select(Scan).where(Scan.item_id == item.id,
                                                    Scan.sha256 == sha))
    if existing is not None:
        provenance = db.session.scalar(select(ImportedScan).where(
            ImportedScan.scan_id == existing.id))
        if provenance is None:
            raise Conflict(_("This file is already scan %(id)s of item %(item)s, uploaded as "
                             "the lab's own scan.", id=existing.id, item=item.barcode),
                           code="already_uploaded")
        return existing, provenance, False
    # The upload path checks everything (size, zip bomb, XML, pixel count) before storing.
    # Kept as an open case: later searches are compared against the reference.
    scan, _new = scans.upload_scan(actor, item, data=data, filename=filename, region=region,
                                calibre=calibre, firing_pin_shape=firing_pin_shape,
                                breech_face_class=breech_face_class)
    surface = imaging.read_x3p(data, max_pixels=scans.MAX_SCAN_PIXELS)
    record = imaging.X3pRecord2(**surface.meta["x3p"])
    provenance = ImportedScan(
        lab_id=item.lab_id, scan_id=scan.id, original_sha256=sha,
        original_filename=filename[:255], source_lab=source_lab.strip()[:200],
        scanned_by=(record.creator or "")[:200], measured_at=(record.date or "")[:40],
        system=record.system[:300], instrument_serial=(record.serial or "")[:120],
        calibration_date=(record.calibration_date or "")[:40], record2=record.as_dict(),
        pixel_um_x=surface.pixel_um_x, pixel_um_y=surface.pixel_um_y, note=note,
        imported_by_id=actor.id, imported_at=utcnow())
    db.session.add(provenance)
    db.session.flush()
    return scan, provenance, True


def provenance_of(scan_ids: list[int]) -> dict[int, ImportedScan]:
    """Provenance of the imported ones among these scans (for the item page)."""
    if not scan_ids:
        return {}
    return {p.scan_id: p for p in db.session.scalars(
        select(ImportedScan).where(ImportedScan.scan_id.in_(scan_ids)))}
