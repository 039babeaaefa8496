"""Drawing the chain-of-custody report's PDF (ReportLab) from the report's data dict.

No database: it only reads the dict; its words go through Flask-Babel (English outside a
request). Everything printed comes from ``data`` (see
``court_reports.report_data``), so the footer digest of that data covers every value a reader
sees. ReportLab is a pure-Python wheel with its own fonts (Bitstream Vera, embedded as a
subset), so a small lab needs no system libraries to produce the PDF.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# the counts a person reads, in their locale ("number" names the page number below)
from ballistics.core.numbers import number as fmt_number

FONT, BOLD = "Vera", "VeraBd"
MARGIN = 15 * mm
FOOTER_HEIGHT = 14 * mm


def register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    # Vera ships inside the reportlab wheel (reportlab/fonts), found on its TTF search path.
    for name, file in ((FONT, "Vera.ttf"), (BOLD, "VeraBd.ttf"), ("VeraIt", "VeraIt.ttf"),
                       ("VeraBI", "VeraBI.ttf")):
        pdfmetrics.registerFont(TTFont(name, file))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic="VeraIt",
                                  boldItalic="VeraBI")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=8, leading=10),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=21,
                                spaceAfter=2),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11.5, leading=14,
                             spaceBefore=9, spaceAfter=4),
        "mono": ParagraphStyle("mono", parent=base, fontName="Courier", fontSize=6.8,
                               leading=8.2),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa3ad")),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
])


def _facts(rows: list[tuple[str, str]], s: dict, width: float) -> Table:
    table = Table([[_p(k, s["head"]), _p(v or "—", s["cell"])] for k, v in rows],
                  colWidths=[width * 0.36, width * 0.64])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _case_and_item(data: dict, s: dict, width: float) -> Table:
    case, item = data["case"], data["item"]
    offence = case["offence"] + (f" ({case['offence_date']})" if case["offence_date"] else "")
    case_rows = [(_("Lab case number"), case["lab_case_number"]),
                 (_("Agency case number"), case["agency_case_number"]),
                 (_("Submitting agency"), case["submitting_agency"]), (_("Offence"), offence)]
    serial = item["serial_number"] + (_(" (obliterated)") if item["serial_obliterated"] else "")
    item_rows = [(_("Barcode"), item["barcode"]),
                 (_("Kind / quantity"), f"{item['kind']} \u00d7 {item['quantity']}"),
                 (_("Description"), item["description"])]
    if item["make"] or item["model"]:
        item_rows.append((_("Make / model"), f"{item['make']} {item['model']}".strip()))
    if serial:
        item_rows.append((_("Serial number"), serial))
    if item["calibre"]:
        item_rows.append((_("Calibre"), item["calibre"]))
    if item["sampled_from"]:
        item_rows.append((_("Sampled from"), item["sampled_from"]))
    item_rows.append((_("Status"), _("%(status)s; held by %(holder)s", status=item["status"],
                                         holder=item["holder"])))
    half = (width - 6 * mm) / 2
    table = Table([[_p(_("Case"), s["h2"]), _p(_("Item"), s["h2"])],
                   [_facts(case_rows, s, half), _facts(item_rows, s, half)]],
                  colWidths=[half + 6 * mm, half])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _events(data: dict, s: dict, width: float) -> Table:
    cols = [7 * mm, 24 * mm, 20 * mm, 28 * mm, 28 * mm, 28 * mm]
    cols.append(width - sum(cols))
    head = ["#", _("Time (UTC)"), _("Action"), _("From"), _("To"), _("Recorded by / witness"),
            _("Reason / details")]
    rows = [[_p(h, s["head"]) for h in head]]
    style = list(GRID.getCommands())
    broken = data["verification"]["broken_at_event"]
    for e in data["events"]:
        who = e["recorded_by"] + ("\n" + _("witness: %(name)s", name=e["witness"])
                                  if e["witness"] else "")
        why = e["reason"] + (f"\n{e['details']}" if e["details"] else "")
        rows.append([_p(e["seq"], s["cell"]), _p(e["time"], s["cell"]),
                     _p(e["action"], s["cell"]), _p(e["from"], s["cell"]),
                     _p(e["to"], s["cell"]), _p(who, s["cell"]), _p(why or "—", s["cell"])])
        rows.append(["", _p(_("hash %(hash)s", hash=e["hash"]) + "\n"
                            + _("previous %(hash)s", hash=e["prev_hash"]), s["mono"]),
                     "", "", "", "", ""])
        n = len(rows) - 1
        style += [("SPAN", (1, n), (-1, n)), ("LINEABOVE", (1, n), (-1, n), 0, colors.white)]
        if broken == e["seq"]:
            style.append(("BACKGROUND", (0, n - 1), (-1, n), colors.HexColor("#fbe3e3")))
    # splitInRow: an event taller than a page (a long reason) goes on over the next page;
    # without it ReportLab cannot place the row and no report is produced
    table = Table(rows, colWidths=cols, repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle(style))
    return table


def _verification(data: dict, s: dict, width: float) -> Table:
    v = data["verification"]
    ok = v["state"] == "witnessed"
    box = Table([[_p(_("Verification result: %(result)s", result=v["result"]), s["h2"])],
                 [_p(v["statement"], s["base"])]], colWidths=[width])
    box.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor("#2e7d32" if ok else "#b3261e")),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#eef7ee" if ok else "#fdf0ef")),
        ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6)]))
    return box


def _ledger(data: dict, s: dict) -> list:
    cp = data["checkpoint"]
    out = [_p(_("Witnessed checkpoint (custody ledger)"), s["h2"])]
    if cp is None:
        out.append(_p(_("No checkpoint of the laboratory's custody log covers these events."),
                      s["base"]))
    else:
        cosigned = ", ".join(_("%(name)s on %(at)s", name=name, at=at)
                             for name, at in cp["cosigned_by"])
        out.append(_p(_("Checkpoint of the laboratory's custody log: %(n)s entries, signed "
                        "%(at)s; ", n=fmt_number(cp["entries"]), at=cp["signed_at"])
                      + (_("cosigned by %(names)s.", names=cosigned) if cosigned else
                         _("not cosigned by any witness.")), s["base"]))
    if data["proof_checks"]:
        # One paragraph per check line: long lines wrap instead of running off the page.
        # The transcript is the verifier's English, word for word: the caption says so.
        caption = _("The lines below are the verifier's own output, in English as the command "
                    "prints it, so they can be compared word for word with an independent run.")
        out += [Spacer(1, 3), _p(caption, s["small"]),
                *(_p(line, s["mono"]) for line in data["proof_checks"].splitlines())]
    out.append(_p(_("Anyone can repeat these checks offline with the proof file (JSON) the "
                    "laboratory issues with this report and its public keys: %(command)s (the "
                    "algorithm is published with the software, docs/ledger.md).",
                    command="flask --app wsgi ledger verify-report FILE --lab-keys KEYS"),
                  s["small"]))
    return out


def _about_hash(digest: str, data_url: str, s: dict) -> list:
    return [
        _p(_("About this document and its hash"), s["h2"]),
        _p(_("The footer of every page carries the SHA-256 digest of this report's data: the "
           "canonical JSON (UTF-8, keys sorted, no spaces between elements) of every value "
           "printed in this document: the laboratory, case and item, the seals, each custody "
           "event with its hashes, the verification result, the witnessed checkpoint, the "
           "sub-items and when and by whom the report was generated. The laboratory keeps that "
           "data, unchangeable, when it issues the report, and records the issue with the "
           "digest in its audit log."), s["base"]),
        Spacer(1, 3),
        _p(_("To check a copy of this document: download the data from %(url)s (signed "
           "in as a member of the laboratory; at the laboratory's server also %(command)s), "
           "compute its SHA-256 (for example with "
           "sha256sum) and compare it with the digest in the footer, then compare the data "
           "with the printed values. A different digest means this is not the document the "
           "laboratory issued. The digest identifies the document; the custody events' own "
           "hashes and the witnessed checkpoint are what show the chain was not altered.",
           url=data_url, command=f"flask --app wsgi evidence report-data {digest}"),
           s["base"]),
        Spacer(1, 3),
        _p(_("Report data SHA-256: %(digest)s", digest=digest), s["mono"]),
        Spacer(1, 4),
        _p(_("Each custody event is stored with a SHA-256 hash computed over its contents and the "
           "hash of the previous event, so altering, removing or reordering any recorded event "
           "changes the hashes that follow. Each event is also sealed into the laboratory's "
           "custody log (a Merkle tree), whose signed checkpoints are cosigned and kept by an "
           "independent witness. Times are Coordinated Universal Time (UTC), recorded by the "
           "laboratory's server."), s["small"]),
    ]


def numbered_canvas(footer: Callable[[canvas.Canvas, int, int], None]) -> type[canvas.Canvas]:
    """A canvas that holds every page until the end, so each footer can say "page N of M";
    ``footer(canvas, number, total)`` draws it (shared by the audit log's PDF)."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self.saveState()
                footer(self, number, total)
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas


def _canvas_maker(left: str, digest: str) -> type[canvas.Canvas]:
    def footer(c: canvas.Canvas, number: int, total: int) -> None:
        width = c._pagesize[0]
        c.setStrokeColor(colors.HexColor("#9aa3ad"))
        c.line(MARGIN, FOOTER_HEIGHT, width - MARGIN, FOOTER_HEIGHT)
        c.setFont(FONT, 7.5)
        c.drawString(MARGIN, FOOTER_HEIGHT - 10, left)
        c.drawRightString(width - MARGIN, FOOTER_HEIGHT - 10,
                          _("Page %(n)s of %(m)s", n=fmt_number(number), m=fmt_number(total)))
        c.setFont("Courier", 7)
        c.drawString(MARGIN, FOOTER_HEIGHT - 20,
                     _("Report data SHA-256: %(digest)s", digest=digest))

    return numbered_canvas(footer)


def render(data: dict, digest: str, data_url: str) -> bytes:
    """The report as PDF bytes (A4)."""
    register_fonts()
    s = _styles()
    buf = io.BytesIO()
    item, lab = data["item"], data["lab"]
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=FOOTER_HEIGHT + 6 * mm,
        title=_("Chain of custody report %(barcode)s", barcode=item["barcode"]),
        author=lab["name"], subject=f"Report data SHA-256 {digest}",
        creator="ballistics")
    width = doc.width
    lab_line = lab["name"] + (f" · {lab['country']}" if lab["country"] else "")
    story = [
        _p(lab_line, s["base"]),
        _p(_("Chain of custody report"), s["title"]),
        _p(_("Item %(barcode)s · %(kind)s", barcode=item["barcode"], kind=item["kind"]), s["h2"]),
        _p(_("Generated %(at)s by %(who)s", at=data["generated_at"], who=data["generated_by"]),
           s["base"]),
        Spacer(1, 6),
        _verification(data, s, width),
        _case_and_item(data, s, width),
        _p(_("Seals"), s["h2"]),
    ]
    if data["seals"]:
        seals = [[_p(h, s["head"]) for h in (_("Seal number"), _("Applied (UTC)"),
                                             _("Broken (UTC)"), _("Reason broken"))]]
        seals += [[_p(x["number"], s["cell"]), _p(x["applied_at"], s["cell"]),
                   _p(x["broken_at"] or _("intact"), s["cell"]), _p(x["broken_reason"], s["cell"])]
                  for x in data["seals"]]
        table = Table(seals, colWidths=[width * f for f in (0.22, 0.24, 0.24, 0.30)])
        table.setStyle(GRID)
        story.append(table)
    else:
        story.append(_p(_("No seal has been applied to this item."), s["base"]))
    story += [_p(ngettext("Custody history (%(count)s event)",
                        "Custody history (%(count)s events)", len(data["events"]),
                        count=fmt_number(len(data["events"]))), s["h2"]),
              _events(data, s, width)]
    if data["sub_items"]:
        subs = [[_p(h, s["head"]) for h in (_("Barcode"), _("Kind"), _("Status / holder"),
                                             _("Chain"))]]
        subs += [[_p(x["barcode"], s["cell"]), _p(x["kind"], s["cell"]),
                  _p(f"{x['status']}; {x['holder']}", s["cell"]), _p(x["chain"], s["cell"])]
                 for x in data["sub_items"]]
        table = Table(subs, colWidths=[width * f for f in (0.22, 0.16, 0.27, 0.35)])
        table.setStyle(GRID)
        story += [_p(_("Sub-items"), s["h2"]), table,
                  _p(_("Each sub-item has its own chain; its full history is in its own "
                       "report."), s["small"])]
    story += _ledger(data, s)
    story.append(KeepTogether(_about_hash(digest, data_url, s)))
    left = _("%(lab)s · %(barcode)s · generated %(at)s", lab=lab["name"],
              barcode=item["barcode"], at=data["generated_at"])
    doc.build(story, canvasmaker=_canvas_maker(left, digest))
    return buf.getvalue()
