"""What the evidence pages show of the comparison workflow, and the queries behind the
comparison pages. Registered as template globals, so the evidence package needs no import of
this one (comparisons depend on evidence, not the other way round)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from ballistics.auth.access import lab_select
from ballistics.auth.models import User
from ballistics.comparisons import forms, review
from ballistics.comparisons.models import Candidate, Scan, ScanStatus, Search
from ballistics.comparisons.permissions import SCAN_AND_SEARCH
from ballistics.comparisons.scans import SCANNABLE
from ballistics.evidence.models import Case, Item
from ballistics.extensions import db

#: statuses after which nothing changes by itself, so the page stops polling
FINAL = frozenset({ScanStatus.DONE, ScanStatus.FAILED})


@dataclass(frozen=True)
class ScanRow:
    scan: Scan
    searches: list[Search]


@dataclass(frozen=True)
class ItemScans:
    rows: list[ScanRow]
    upload: forms.ScanUploadForm | None
    search: forms.ButtonForm | None


def item_scans(item: Item, upload: forms.ScanUploadForm | None = None) -> ItemScans | None:
    """The item page's scan section (None for items that are never scanned); ``upload`` is a
    refused upload form to show again with its messages."""
    if item.kind not in SCANNABLE:
        return None
    user: User = current_user
    scans = db.session.scalars(lab_select(Scan, user).where(Scan.item_id == item.id)
                               .order_by(Scan.id)).all()
    by_scan: dict[int, list[Search]] = {s.id: [] for s in scans}
    if scans:
        for search in db.session.scalars(lab_select(Search, user)
                                         .where(Search.query_scan_id.in_(by_scan))
                                         .order_by(Search.id.desc())):
            by_scan[search.query_scan_id].append(search)
    may = user.has_role(*SCAN_AND_SEARCH)
    if upload is None and may:
        upload = forms.ScanUploadForm(formdata=None, calibre=item.calibre)
    return ItemScans([ScanRow(s, by_scan[s.id]) for s in scans], upload,
                     forms.ButtonForm(formdata=None) if may else None)


def linked_cases(case: Case) -> list[tuple[Case, object]]:
    """(other case, link) for every confirmed identification linking ``case``."""
    return [(link.case_b if link.case_a_id == case.id else link.case_a, link)
            for link in review.links_for_case(case)]


def candidates(search: Search) -> list[Candidate]:
    """A search's candidates with their reference items and cases loaded in three queries."""
    return db.session.scalars(
        lab_select(Candidate, current_user).where(Candidate.search_id == search.id)
        .order_by(Candidate.rank)
        .options(selectinload(Candidate.reference_scan).selectinload(Scan.item)
                 .selectinload(Item.case))).all()


def likelihood_ratio(value: float) -> Markup:
    """Readable LR: plain near 1, powers of ten beyond (the calibration's range is wide)."""
    if value >= 1000 or 0 < value < 0.001:
        mantissa, exponent = f"{value:.1e}".split("e")
        return Markup(f"{mantissa} &times; 10<sup>{int(exponent)}</sup>")  # noqa: S704 numbers only
    return Markup(f"{value:.3g}")  # noqa: S704 a number only
