"""Geometry for the dashboard's server-rendered SVG bar charts (no JavaScript: the CSP allows
none inline, and a chart that is plain SVG prints and exports as it is)."""

from __future__ import annotations

from dataclasses import dataclass

from ballistics.core.numbers import percent


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
    return percent(rate, 1)  # in the reader's locale: the value is text on the chart


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


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str


def ratings_over_time(rows: list[tuple[str, float | None, float | None]], *, width: int = 560,
                      height: int = 220, low: int = 1, high: int = 4,
                      threshold: float = 3) -> dict:
    """Two lines over the assessments (label, mean self score, mean supervisor score): how
    the examiner sees themself against how the supervisor rates them, on the 1-4 scale, with
    the competence threshold drawn across."""
    left, right, top, bottom = 72, 56, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(rows)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(score: float) -> float:
        return top + plot_h * (high - score) / (high - low)

    series = {}
    for key, col in (("self", 1), ("supervisor", 2)):
        points = [Point(x(i), y(r[col]), r[col], r[0]) for i, r in enumerate(rows)
                  if r[col] is not None]
        series[key] = {"points": points,
                       "path": " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)}
    return {"width": width, "height": height, "left": left, "right": width - right,
            "bottom": top + plot_h, "ticks": [(s, y(s)) for s in range(low, high + 1)],
            "threshold": y(threshold), "labels": [(x(i), r[0]) for i, r in enumerate(rows)],
            "series": series}
