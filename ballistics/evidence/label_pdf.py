"""Evidence labels as a PDF for label printers: one label per page, the page the label's size.

Label printers (Brother QL on 62 mm continuous tape, Zebra and Dymo on 2 x 1 in die-cut labels)
print a PDF page 1:1 when the page is the label, so each size here is a page size. Each label
carries the barcode string as a standard QR code (segno) and as Code 128 (python-barcode), both
drawn as 1-bit images with whole pixels per module: no resampling blurs a bar edge, and a
reader of the PDF gets back exactly the symbol that was encoded.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import barcode
from flask_babel import gettext as _
from PIL import Image
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ballistics.core.labels import label as code_label
from ballistics.evidence.court_pdf import BOLD, FONT, register_fonts
from ballistics.evidence.labels import qr_code
from ballistics.evidence.models import Item

#: Code 128 quiet zone on each side, in modules (the standard asks for at least 10)
QUIET = 10
#: pixels per module in the embedded images (whole pixels: the page scales them, crisply)
QR_PX, BAR_PX, BAR_HEIGHT_PX = 8, 4, 60


@dataclass(frozen=True)
class LabelSize:
    key: str
    width: float  # points
    height: float


#: the sizes offered: 62 mm continuous tape (Brother QL), cut at 29 mm (the height of Brother's
#: DK-11209 die-cut labels), and 2 x 1 in die-cut labels (Zebra, Dymo)
SIZES = {s.key: s for s in (LabelSize("62mm", 62 * mm, 29 * mm),
                            LabelSize("2x1in", 2 * inch, 1 * inch))}
DEFAULT_SIZE = "62mm"


@dataclass(frozen=True)
class LabelText:
    """What a label says besides its symbols."""

    barcode: str
    lab: str
    case: str
    number: str
    kind: str
    calibre: str = ""


def code128_modules(text: str) -> str:
    """The Code 128 symbol of ``text`` as "1" (bar) and "0" (space) modules, start to stop."""
    return barcode.get("code128", text).build()[0]


def _bars_image(text: str) -> Image.Image:
    modules = "0" * QUIET + code128_modules(text) + "0" * QUIET
    row = Image.new("1", (len(modules), 1), 1)
    row.putdata([0 if m == "1" else 1 for m in modules])
    return row.resize((len(modules) * BAR_PX, BAR_HEIGHT_PX), Image.Resampling.NEAREST)


def _qr_image(text: str) -> Image.Image:
    buf = io.BytesIO()
    qr_code(text).save(buf, kind="png", scale=QR_PX, border=4)
    buf.seek(0)
    return Image.open(buf).convert("1")


def _fit(c: canvas.Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to ``size`` at which ``text`` fits ``width``."""
    return min(size, size * width / max(c.stringWidth(text, font, size), 0.01))


def _draw(c: canvas.Canvas, label: LabelText, size: LabelSize) -> None:
    w, h = size.width, size.height
    margin = 1.5 * mm
    bars = _bars_image(label.barcode)
    # Code 128 across the top with its text, the QR code under it at the left, words beside.
    bar_h, text_h = (7.5 * mm, 2.2 * mm) if size.height < 27 * mm else (8 * mm, 2.6 * mm)
    qr_side = h - 2 * margin - bar_h - text_h - 0.5 * mm
    bar_w = w - 2 * margin
    top = h - margin
    c.drawImage(ImageReader(bars), margin, top - bar_h, width=bar_w, height=bar_h)
    pt = _fit(c, label.barcode, FONT, text_h / mm * 2.4, bar_w)
    c.setFont(FONT, pt)
    # Baseline one ascent (about 0.76 em in Vera) below the bars, so no glyph touches a bar.
    c.drawCentredString(w / 2, top - bar_h - 0.3 * mm - 0.76 * pt, label.barcode)
    qr_top = top - bar_h - text_h - 0.5 * mm
    c.drawImage(ImageReader(_qr_image(label.barcode)), margin, qr_top - qr_side,
                width=qr_side, height=qr_side)
    x = margin + qr_side + 1.5 * mm
    room = w - x - margin
    lines = [(BOLD, 6, _("EVIDENCE") + " · " + label.lab),
             (FONT, 6, _("Case %(case)s", case=label.case)),
             (BOLD, 8.5, _("Item %(number)s", number=label.number)),
             (FONT, 6, label.kind + (f" · {label.calibre}" if label.calibre else ""))]
    y = qr_top - 0.5 * mm
    for font, pt, text in lines:
        pt = _fit(c, text, font, pt, room)
        y -= pt * 1.12
        if y < margin:
            break  # a tiny label drops the last lines rather than print over its edge
        c.setFont(font, pt)
        c.drawString(x, y, text)


def label_pdf(labels: Iterable[LabelText], size: LabelSize) -> bytes:
    """One page per label, each page exactly the label's size."""
    register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(size.width, size.height))
    c.setTitle(_("Evidence labels"))
    c.setCreator("ballistics")
    for label in labels:
        _draw(c, label, size)
        c.showPage()
    c.save()
    return buf.getvalue()


def item_labels(items: Iterable[Item], lab_name: str, size: LabelSize) -> bytes:
    """The labels of ``items`` (one page each, in the order given)."""
    return label_pdf((LabelText(barcode=i.barcode, lab=lab_name, case=i.case.lab_case_number,
                                number=i.number, kind=str(code_label(i.kind)),
                                calibre=i.calibre) for i in items), size)
