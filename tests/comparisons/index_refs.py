"""Many references at once for signature-index tests: scans with random stage-1 signatures,
bulk-inserted (stage 1 only needs the signature; stage-2 data is a placeholder)."""

from __future__ import annotations

import contextlib
import uuid

import numpy as np
from sqlalchemy import event, insert

from ballistics import imaging
from ballistics.comparisons.models import FeatureSet, Scan, ScanStatus
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db


@contextlib.contextmanager
def statements():
    """Every SQL statement the engine runs inside the block (a search must read no signature)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def random_signatures(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, imaging.SIGNATURE_LENGTH))
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def add_references(kit, signatures: np.ndarray, *, calibres: list[str] | None = None,
                   open_case: list[bool] | None = None) -> list[int]:
    """One item and one done scan per signature, in ``kit``'s lab; return the scan ids."""
    n = len(signatures)
    calibres = calibres or ["9mm Luger"] * n
    open_case = open_case or [True] * n
    user = kit.users["examiner"]
    tag = uuid.uuid4().hex[:10]
    shas = [f"{tag}{i:054d}" for i in range(n)]
    db.session.execute(insert(FeatureSet), [
        {"sha256": sha, "algorithm_version": imaging.ALGORITHM_VERSION,
         "signature": sig.astype(np.float32).tobytes(), "data": b"", "seconds": 0.0}
        for sha, sig in zip(shas, signatures, strict=True)])
    case = Case(lab_id=kit.lab.id, year=2026, seq=int(uuid.uuid4().int % 10**6),
                lab_case_number=f"IX-{tag}", submitting_agency="test", created_by_id=user.id)
    db.session.add(case)
    db.session.flush()
    items = db.session.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), [
        {"lab_id": kit.lab.id, "case_id": case.id, "number": str(i),
         "barcode": f"IX-{tag}/{i}", "kind": "cartridge_case", "calibre": calibres[i]}
        for i in range(n)]).scalars().all()
    ids = db.session.execute(insert(Scan).returning(Scan.id, sort_by_parameter_order=True), [
        {"lab_id": kit.lab.id, "item_id": item_id, "sha256": sha, "filename": "ix.x3p",
         "file_format": "x3p", "size_bytes": 1, "width": 10, "height": 10, "pixel_um": 6.25,
         "region": "breech_face", "calibre": calibres[i], "status": ScanStatus.DONE.value,
         "is_open_case": open_case[i], "uploaded_by_id": user.id}
        for i, (item_id, sha) in enumerate(zip(items, shas, strict=True))]).scalars().all()
    db.session.commit()
    return list(ids)
