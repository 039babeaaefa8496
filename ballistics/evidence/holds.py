"""What keeps an item in the lab, and what a released or destroyed item may no longer take.

Other domains know why an item must stay: an examination that is not yet released (``sop``), an
identification that links two cases (``comparisons``). They register a source of holds here in
their ``init_app``, so the custody rules see them without evidence importing those domains
(comparisons and sop depend on evidence, not the other way round).

A source answers for many items at once (:func:`holds_on_many`: one call of each source, so a
fixed number of queries whatever the count, e.g. for a page offering the items that can be
sent); the per-item answer (:func:`holds_on`) is the same call for one item, so there is one
source of truth for what holds an item.

The rules (release and destruction):

- in the actor's hands: release is refused while the item is in an open examination;
  destruction also while it grounds an active case link (it is the physical basis of a standing
  identification: withdraw the link by a reviewed correction first);
- by a manager's override (the item is with someone else or in storage): refused while the
  item is in an open examination, under an active case link, or sealed (a sealed package is
  opened by the person who holds it, with an unseal event, not disposed of unseen).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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


#: a source of holds: function(items) -> {item id: the holds it places on that item} (items
#: it does not hold may be left out); a fixed number of queries whatever the count
Source = Callable[[Sequence[Item]], Mapping[int, list[Hold]]]
#: source name -> source
_SOURCES: dict[str, Source] = {}


def register(name: str, source: Source) -> None:
    """Add (or replace, so a second app in one process is harmless) a source of holds."""
    _SOURCES[name] = source


def holds_on_many(items: Iterable[Item]) -> dict[int, list[Hold]]:
    """Each item's holds (item id -> its holds, [] for a free item), each source asked once
    for all of them."""
    items = list(items)
    found: dict[int, list[Hold]] = {item.id: [] for item in items}
    if not items:
        return found
    for source in _SOURCES.values():
        for item_id, holds in source(items).items():
            found[item_id].extend(holds)
    return found


def holds_on(item: Item) -> list[Hold]:
    """The item's holds: :func:`holds_on_many` of that one item."""
    return holds_on_many([item])[item.id]


def refusing(holds: Iterable[Hold], action: str, *, override: bool) -> list[Hold]:
    """Of an item's holds, those that refuse its release or destruction (``action``)."""
    return [h for h in holds if h.kind in REFUSING[(action, override)]]


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
    blocking = refusing(holds_on(item), action, override=override)
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
