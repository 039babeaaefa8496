"""A quality record's reference, the next of its lab and year (NC-2026-0007, CP-2026-0003)."""

from __future__ import annotations

from sqlalchemy import func, select

from ballistics.auth.models import Lab
from ballistics.extensions import db


def next_reference(model: type, lab_id: int, prefix: str) -> str:
    """The next ``<prefix>NNNN`` of the lab for ``model`` (with ``lab_id`` and ``reference``).
    Simultaneous recordings of a lab take turns on the lab's row until they commit, so each
    counts the others' (two used to count the same and collide on the unique reference).
    ``FOR NO KEY UPDATE``: the foreign-key checks of the lab's other writes (``FOR KEY SHARE``)
    do not wait for it; SQLite serialises writers itself."""
    db.session.execute(select(Lab.id).where(Lab.id == lab_id).with_for_update(key_share=True))
    count = db.session.scalar(select(func.count(model.id)).where(
        model.lab_id == lab_id, model.reference.like(f"{prefix}%")))
    return f"{prefix}{count + 1:04d}"
