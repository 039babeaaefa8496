"""Geometry for the dashboard's server-rendered SVG bar charts (no JavaScript: the CSP allows
none inline, and a chart that is plain SVG prints and exports as it is)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float | None
    caption: str
    tone: str  # "ok", "warn" or "bad": the colour class


def _tone(rate: float | None) -> str:
    if rate is None or rate >= 0.95:
        return "ok"
    return "warn" if rate >= 0.8 else "bad"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def horizontal(rows: list[tuple[str, float | None, str]], *, width: int = 560,
               label_width: int = 190, row_height: int = 22) -> dict:
    """One bar per row (label, rate 0..1, hover caption), longest = 100 %."""
    plot = width - label_width - 60
    bars = []
    for i, (label, rate, caption) in enumerate(rows):
        w = plot * (rate or 0)
        bars.append(Bar(label_width, i * row_height + 4, max(w, 1), row_height - 8, label, rate,
                        f"{caption} · {_pct(rate)}", _tone(rate)))
    return {"width": width, "height": len(rows) * row_height + 8, "bars": bars,
            "label_width": label_width, "plot": plot, "pct": _pct}


def vertical(rows: list[tuple[str, float | None, str]], *, width: int = 560,
             height: int = 200) -> dict:
    """One column per row (e.g. month), height = rate."""
    n = max(len(rows), 1)
    slot = (width - 40) / n
    plot = height - 40
    bars = []
    for i, (label, rate, caption) in enumerate(rows):
        h = plot * (rate or 0)
        bars.append(Bar(40 + i * slot + slot * 0.15, 10 + plot - h, slot * 0.7, max(h, 1),
                        label, rate, f"{caption} · {_pct(rate)}", _tone(rate)))
    return {"width": width, "height": height, "bars": bars, "plot": plot, "pct": _pct,
            "slot": slot}
