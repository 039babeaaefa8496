"""What keeps an item in the lab, and what a released or destroyed item may no longer take.

Other domains know why an item must stay: an examination that is not yet released (``sop``), an
identification that links two cases (``comparisons``). They register a source of holds here in
their ``init_app``, so the custody rules see them without evidence importing those domains
(comparisons and sop depend on evidence, not the other way round).

The rules (release and destruction):

- in the actor's hands: release is refused while the item is in an open examination;
  destruction also while it grounds an active case link (it is the physical basis of a standing
  identification: withdraw the link by a reviewed correction first);
- by a manager's override (the item is with someone else or in storage): refused while the
  item is in an open examination, under an active case link, or sealed (a sealed package is
  opened by the person who holds it, with an unseal event, not disposed of unseen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _

from ballistics.core.actions import action_words
from ballistics.core.errors import Conflict
from ballistics.core.labels import label
from ballistics.evidence.models import CustodyKind, Item, ItemStatus


class HoldKind(StrEnum):
    EXAMINATION = "examination"
    CASE_LINK = "case_link"


@dataclass(frozen=True)
class Hold:
    kind: HoldKind
    #: readable, naming the examination or link, e.g. "it is in open examination 12 (...)"
    reason: str


#: source name -> function(item) -> the holds it places on the item
_SOURCES: dict[str, Callable[[Item], list[Hold]]] = {}


def register(name: str, source: Callable[[Item], list[Hold]]) -> None:
    """Add (or replace, so a second app in one process is harmless) a source of holds."""
    _SOURCES[name] = source


def holds_on(item: Item) -> list[Hold]:
    return [hold for source in _SOURCES.values() for hold in source(item)]


#: which holds refuse which disposal: (action, by override) -> hold kinds
REFUSING = {("release", False): {HoldKind.EXAMINATION},
            ("destroy", False): {HoldKind.EXAMINATION, HoldKind.CASE_LINK},
            ("release", True): {HoldKind.EXAMINATION, HoldKind.CASE_LINK},
            ("destroy", True): {HoldKind.EXAMINATION, HoldKind.CASE_LINK}}


def refuse_disposal(item: Item, action: str, *, override: bool) -> None:
    """Raise (409, naming the reason) when ``item`` may not be released or destroyed now."""
    verb = _("released") if action == "release" else _("destroyed")
    if override and item.intact_seal is not None:
        raise Conflict(_("Item %(barcode)s is sealed (%(number)s); it cannot be %(verb)s by an "
                         "override. Its holder breaks the seal (an unseal event) or disposes of "
                         "it in hand.", barcode=item.barcode, number=item.intact_seal.number,
                         verb=verb), code="item_sealed")
    blocking = [h for h in holds_on(item) if h.kind in REFUSING[(action, override)]]
    if blocking:
        code = "item_in_examination" if blocking[0].kind is HoldKind.EXAMINATION \
            else "item_under_case_link"
        raise Conflict(_("Item %(barcode)s cannot be %(verb)s: %(reasons)s.",
                         barcode=item.barcode, verb=verb,
                         reasons="; ".join(h.reason for h in blocking)), code=code)


def _disposed_on(item: Item) -> str:
    last = next((e for e in reversed(item.events)
                 if e.kind in (CustodyKind.RELEASED, CustodyKind.DESTROYED)), None)
    return (_(" on %(date)s", date=last.occurred_at.strftime("%Y-%m-%d")) if last is not None
            else "")


def require_in_custody(item: Item, takes: str) -> None:
    """Refuse new work (``takes``: "new scans", "samples", ...) on a released or destroyed
    item."""
    if item.status != ItemStatus.IN_CUSTODY:
        raise Conflict(_("Item %(barcode)s was %(status)s%(value)s; it takes no %(takes)s.",
                         barcode=item.barcode, status=label(item.status),
                         value=_disposed_on(item), takes=action_words(takes)),
                       code="item_disposed")


def require_unsealed(item: Item, action: str) -> None:
    """Refuse to work on the contents of a sealed item: the seal is broken first, on record."""
    seal = item.intact_seal
    if seal is not None:
        raise Conflict(_("Item %(barcode)s is sealed (%(number)s); break the seal first (an "
                         "unseal custody event) before %(action)s it.", barcode=item.barcode,
                         number=seal.number, action=action_words(action)), code="item_sealed")
