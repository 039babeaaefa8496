"""The audit log extract as a PDF (ReportLab, the project's one PDF library): the filters,
the latest verification of the lab's log, every entry with its before/after, page N of M.

No database access: it draws what the view hands it, in the court report's look (its embedded
Vera fonts and table grid), so no system library is needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from ballistics.audit.browse import LogStatus, changes, shown
from ballistics.audit.models import AuditEntry
from ballistics.core.timeutil import canonical
from ballistics.evidence.court_pdf import BOLD, FONT, GRID, numbered_canvas, register_fonts

MARGIN = 12 * mm
FOOTER = 10 * mm


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5)
    return {"base": base,
            "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
            "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=7.5,
                                   leading=9.5),
            "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=16,
                                    leading=20, spaceAfter=2),
            "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11, leading=14,
                                 spaceBefore=8, spaceAfter=3)}


#: glyphs the embedded Vera font lacks, drawn with ones it has
GLYPHS = str.maketrans({"→": "->", "∅": "(none)"})


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text).translate(GLYPHS)).replace("\n", "<br/>"), style)


def _numbered(left: str) -> type[canvas.Canvas]:
    def footer(c: canvas.Canvas, number: int, total: int) -> None:
        c.setFont(FONT, 7.5)
        c.drawString(MARGIN, FOOTER - 4, left)
        c.drawRightString(c._pagesize[0] - MARGIN, FOOTER - 4,
                          _("Page %(n)s of %(m)s", n=number, m=total))

    return numbered_canvas(footer)


def render(*, lab_name: str, generated_by: str, generated_at: datetime,
           filters: dict[str, str], entries: Sequence[AuditEntry], total: int,
           status: LogStatus, names: dict[int, str],
           actor_name: Callable[[AuditEntry, dict[int, str]], str], zone: str = "UTC") -> bytes:
    """The extract as PDF bytes (A4 landscape): ``entries`` newest first, ``total`` matching.
    A filed extract states its times in UTC (as the court report does); the days the filters
    name are the lab's (``zone``), as on the page they were chosen on."""
    register_fonts()
    s = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=FOOTER + 5 * mm,
                            title=_("Audit log extract"), author=lab_name, creator="ballistics")
    width = doc.width
    chosen = " · ".join(f"{k} = {v}" for k, v in filters.items()) or _("all entries")
    last = status.last
    verified = (_("Last full verification %(when)s by %(who)s: %(sentence)s",
                  when=canonical(last.created_at), who=actor_name(last, names),
                  sentence=last.after.get("sentence", ""))
                if last is not None else _("The whole log has not been verified yet."))
    story = [_p(lab_name, s["base"]), _p(_("Audit log extract"), s["title"]),
             _p(_("Generated %(at)s by %(who)s", at=canonical(generated_at), who=generated_by),
                s["base"]),
             _p(_("Filters: %(filters)s", filters=chosen), s["base"]),
             _p(_("Filter dates are days in %(zone)s; the times below are UTC.", zone=zone),
                s["base"]),
             _p(_("Entries: %(shown)s of %(total)s", shown=len(entries), total=total),
                s["base"]),
             _p(_("Verification of the lab's log"), s["h2"]), _p(verified, s["base"])]
    story += [_p(_("Ledger alarm: %(alarm)s", alarm=a), s["base"]) for a in status.alarms]
    story.append(Spacer(1, 6))
    cols = [36 * mm, 28 * mm, 15 * mm, 30 * mm]
    cols += [width - sum(cols) - 24 * mm, 24 * mm]
    rows = [[_p(h, s["head"]) for h in (_("When (UTC)"), _("Person"), _("Action"), _("Record"),
                                         _("Change: field · before → after"), _("Hash"))]]
    for e in entries:
        lines = []
        for c in changes(e):
            if e.action.value == "update":
                lines.append(f"{c.field}: {shown(c.field, c.before, names)} → "
                             f"{shown(c.field, c.after, names)}")
            else:
                value = c.before if e.action.value == "delete" else c.after
                lines.append(f"{c.field}: {shown(c.field, value, names)}")
        rows.append([_p(canonical(e.created_at), s["cell"]),
                     _p(f"{actor_name(e, names)}\n{e.origin}", s["cell"]),
                     _p(e.action.value, s["cell"]),
                     _p(f"{e.object_type} {e.object_id or ''}", s["cell"]),
                     _p("\n".join(lines), s["cell"]), _p(e.hash[:16], s["cell"])])
    # splitInRow: an entry taller than a page (a record with long notes) goes on over the next
    # page; without it ReportLab cannot place the row and the whole export fails
    table = Table(rows, colWidths=cols, repeatRows=1, splitInRow=1)
    table.setStyle(GRID)
    story.append(table)
    doc.build(story, canvasmaker=_numbered(
        _("%(lab)s · audit log extract · %(at)s", lab=lab_name, at=canonical(generated_at))))
    return buf.getvalue()
