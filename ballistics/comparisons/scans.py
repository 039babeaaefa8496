"""Scan upload and feature extraction.

An upload is checked in full (type, size, pixel count, zip bombs) before anything is stored; a
refused upload leaves no file and no row. Features are computed once per (content, algorithm
version) by a worker, never in the web request.
"""

from __future__ import annotations

import time
from datetime import timedelta

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from ballistics import imaging
from ballistics.auth.access import require_role
from ballistics.auth.models import User
from ballistics.comparisons import scan_refusals, store
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus
from ballistics.comparisons.permissions import SCAN_AND_SEARCH
from ballistics.core.after_commit import track_new_file
from ballistics.core.context import acting_as
from ballistics.core.errors import AppError, Conflict, Unprocessable
from ballistics.core.labels import label
from ballistics.core.timeutil import utcnow
from ballistics.core.wording import Wording, english, wording
from ballistics.evidence.holds import require_in_custody, require_unsealed
from ballistics.evidence.models import Item, ItemKind
from ballistics.extensions import db
from ballistics.outbox.services import enqueue

_signals = Namespace()
#: sent when a scan's features are stored (sender the scan), in the transaction that marks it
#: done: what a receiver writes (an outbox row) commits with it
features_ready = _signals.signal("scan-features-ready")

SCANNABLE = {ItemKind.CARTRIDGE_CASE, ItemKind.TEST_FIRE}
MAX_SCAN_BYTES = 64 * 1024 * 1024
MAX_SCAN_PIXELS = 25_000_000


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


def upload_scan(actor: User, item: Item, *, data: bytes, filename: str,
                pixel_um: float | None = None, region: str = "breech_face", calibre: str = "",
                firing_pin_shape: str = "", breech_face_class: str = "",
                is_open_case: bool = True) -> tuple[Scan, bool]:
    """Validate and store a scan of an item; return (scan, created).

    Uploading the same bytes for the same item again returns the existing scan.
    """
    require_role(actor, SCAN_AND_SEARCH, "upload scans")
    if item.kind not in SCANNABLE:
        raise Unprocessable(_("Item %(barcode)s is a %(kind)s; only cartridge cases and test "
                              "fires are scanned.", barcode=item.barcode, kind=label(item.kind)),
                            fields={"item": [_("Not a scannable item.")]})
    require_in_custody(item, "new scans")
    require_unsealed(item, "scanning")
    sha = store.digest(data)
    existing = db.session.scalar(select(Scan).where(Scan.item_id == item.id, Scan.sha256 == sha))
    if existing is not None:
        return existing, False
    # The mistakes people make at the form, said in their language and beside the field to
    # mend; the imaging layer's own (a corrupt or oversized file) say what broke in detail,
    # in the reader's language too (scan_refusals).
    kind = imaging.scan_kind(data)
    if not data:
        raise Unprocessable(_("%(file)s is empty.", file=filename),
                            fields={"file": [_("The file is empty.")]})
    if kind is None:
        raise Unprocessable(_("%(file)s is not a scan: an x3p, PNG or TIFF file is expected.",
                              file=filename),
                            fields={"file": [_("Not an x3p, PNG or TIFF file.")]})
    if kind == "image" and pixel_um is None:
        raise Unprocessable(_("%(file)s is an image: give its pixel size in µm.", file=filename),
                            fields={"pixel_um": [_("Required for a PNG or TIFF image.")]})
    try:
        surface = imaging.read_surface(data, filename, pixel_um, max_bytes=MAX_SCAN_BYTES,
                                       max_pixels=MAX_SCAN_PIXELS)
    except imaging.ImagingError as exc:  # said by kind in the reader's language
        why = scan_refusals.reason(exc)
        refusal = PayloadTooLarge if isinstance(exc, imaging.ScanTooLargeError) else Unprocessable
        raise refusal(_("%(file)s: %(reason)s", file=filename, reason=why),
                      fields={"file": [why]}) from exc
    height, width = surface.heights.shape
    _sha, path, created = store.put(data)
    if created:
        track_new_file(path)
    scan = Scan(lab_id=item.lab_id, item_id=item.id, sha256=sha, filename=filename[:255],
                file_format="x3p" if data[:2] == b"PK" else ("png" if data[:4] == b"\x89PNG"
                                                              else "tiff"),
                size_bytes=len(data), width=width, height=height,
                pixel_um=float(surface.pixel_um_x), region=region,
                calibre=calibre or item.calibre, firing_pin_shape=firing_pin_shape,
                breech_face_class=breech_face_class, is_open_case=is_open_case,
                uploaded_by_id=actor.id)
    db.session.add(scan)
    db.session.flush()
    enqueue("comparisons.extract_features", scan.id)
    return scan, True


def feature_set_for(scan: Scan) -> FeatureSet | None:
    return db.session.scalar(select(FeatureSet).where(
        FeatureSet.sha256 == scan.sha256,
        FeatureSet.algorithm_version == imaging.ALGORITHM_VERSION))


def compute_features(scan: Scan) -> FeatureSet:
    """Extract and store features for a scan's file, or reuse those already stored."""
    existing = feature_set_for(scan)
    if existing is not None:
        return existing
    t0 = time.perf_counter()
    surface = imaging.read_surface(store.read(scan.sha256), scan.filename, scan.pixel_um,
                                   max_bytes=MAX_SCAN_BYTES, max_pixels=MAX_SCAN_PIXELS)
    features = imaging.extract_features(surface)
    row = FeatureSet(sha256=scan.sha256, algorithm_version=imaging.ALGORITHM_VERSION,
                     signature=features.signature.astype("float32").tobytes(),
                     data=imaging.features_to_bytes(features),
                     seconds=time.perf_counter() - t0)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        # Another worker stored the same content meanwhile: keep exactly one.
        return feature_set_for(scan)
    return row


def mark(scan: Scan, status: ScanStatus, reason: Wording | None = None) -> None:
    """Set the scan's status and why (a wording: kept in English and said to each reader)."""
    scan.status = status
    scan.status_reason, scan.status_wording = (english(reason)[:2000], reason) if reason \
        else ("", None)
    scan.status_changed_at = utcnow()
    if status is ScanStatus.DONE:
        scan.features_at = scan.status_changed_at


def failure_reason(exc: BaseException) -> Wording:
    """Why feature extraction gave up, for the examiner and the administrator."""
    if isinstance(exc, imaging.ImagingError):  # the file's content: said as an upload refusal is
        return scan_refusals.wording_of(exc)
    if isinstance(exc, OSError):
        return wording("The stored scan file could not be read or no longer matches its "
                       "SHA-256 (%(detail)s). Ask an administrator to check the image store, "
                       "then retry.", detail=str(exc))
    if isinstance(exc, OperationalError):
        return wording("The database could not be reached while computing features; retry "
                       "later.")
    return wording("Feature extraction failed (%(detail)s); retry, or report it.",
                   detail=f"{type(exc).__name__}: {exc}")


def retry_extraction(actor: User, scan: Scan) -> Scan:
    """Queue a FAILED scan's feature extraction again."""
    require_role(actor, SCAN_AND_SEARCH, "retry scans")
    if scan.status != ScanStatus.FAILED:
        raise Conflict(_("Scan %(id)s is %(status)s; only a failed scan is retried.", id=scan.id,
                         status=label(scan.status)),
                       code="not_failed")
    mark(scan, ScanStatus.QUEUED, wording("Queued again at an examiner's request."))
    enqueue("comparisons.extract_features", scan.id)
    return scan


#: a scan left RUNNING is requeued this many times before it is failed
MAX_ATTEMPTS = 3
#: who the sweep's changes are recorded as (for each scan's or search's lab)
SWEEP = "task:comparisons.sweep"


def sweep_stuck(after_seconds: int) -> dict[str, int]:
    """Scans RUNNING (a worker vanished) or QUEUED (a message lost) for longer than
    ``after_seconds``: queue them again, or fail them once they were tried MAX_ATTEMPTS times.
    Requeueing is safe: the task does nothing for a scan that is already done."""
    cutoff = utcnow() - timedelta(seconds=after_seconds)
    stuck = db.session.scalars(select(Scan).where(
        Scan.status.in_([ScanStatus.RUNNING, ScanStatus.QUEUED]),
        Scan.status_changed_at < cutoff).order_by(Scan.id)).all()
    requeued = failed = 0
    for scan in stuck:
        with acting_as(None, scan.lab_id, SWEEP):
            if scan.attempts >= MAX_ATTEMPTS:
                mark(scan, ScanStatus.FAILED, wording(
                    "No worker finished feature extraction in %(attempts)s attempts of "
                    "%(seconds)s s each; check the workers, then retry.",
                    attempts=scan.attempts, seconds=after_seconds))
                failed += 1
            else:
                mark(scan, ScanStatus.QUEUED, wording(
                    "Queued again: no result within %(seconds)s s.", seconds=after_seconds))
                enqueue("comparisons.extract_features", scan.id)
                requeued += 1
    return {"scans_requeued": requeued, "scans_failed": failed}
