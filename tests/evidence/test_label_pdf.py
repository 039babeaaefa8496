"""Acceptance (issue 14, item 4): labels for label printers. Each PDF page is exactly the
label's size (62 mm tape, 2 x 1 in), carries a standard QR code (not Micro QR) and a Code 128
that a barcode reader (zxing-cpp) decodes to the item's barcode, for one item or a whole case."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from pypdf import PdfReader

from ballistics.evidence import label_pdf, labels
from tests.support.browser import ARTIFACTS
from tests.support.web import Api, Browser

MM = 72 / 25.4
SIZES = {"62mm": (62 * MM, 29 * MM), "2x1in": (144.0, 72.0)}


def _read(browser: Browser, path: str, keep: str) -> PdfReader:
    response = browser.client.get(path)
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / keep).write_bytes(response.data)
    return PdfReader(io.BytesIO(response.data))


def _symbols(page) -> dict[str, list[str]]:
    """Every symbol a barcode reader finds in the page's images: format name -> texts."""
    found: dict[str, list[str]] = {}
    for image in page.images:
        for result in zxingcpp.read_barcodes(image.image.convert("L")):
            found.setdefault(result.format.name, []).append(result.text)
    return found


def _assert_label(page, size: str, barcode: str) -> None:
    width, height = SIZES[size]
    box = page.mediabox
    assert float(box.left) == 0 and float(box.bottom) == 0
    assert abs(float(box.width) - width) <= 0.5 and abs(float(box.height) - height) <= 0.5, (
        size, box)
    symbols = _symbols(page)
    assert symbols.get("QRCode") == [barcode], symbols  # standard QR, not MicroQRCode
    assert symbols.get("Code128") == [barcode], symbols
    assert "MicroQRCode" not in symbols
    text = " ".join((page.extract_text() or "").split())
    assert barcode in text and "EVIDENCE" in text


@pytest.mark.parametrize("size", sorted(SIZES))
def test_item_label_is_one_page_of_the_label_size(app, client, lab, size):
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "firearm", calibre="9mm Luger")
    reader = _read(Browser(app, lab, "tech"), f"/items/{item['id']}/label.pdf?size={size}",
                   f"label-{size}.pdf")
    assert len(reader.pages) == 1
    _assert_label(reader.pages[0], size, item["barcode"])
    assert f"Item {item['barcode'].rsplit('/', 1)[1]}" in reader.pages[0].extract_text()


def test_a_whole_case_prints_one_label_per_page_in_item_order(app, client, lab, other_lab):
    tech = Api(client, lab, "tech")
    case_id = tech.new_case()["id"]
    firearm = tech.receive(case_id, "firearm")
    cases = [tech.receive(case_id, "cartridge_case") for _ in range(2)]
    tech.post(f"/items/{firearm['id']}/transfer", {"to_user_id": lab.id("examiner")})
    sub = Api(client, lab, "examiner").post(f"/items/{firearm['id']}/sample",
                                            {"kind": "test_fire"})
    barcodes = [firearm["barcode"], *(c["barcode"] for c in cases)]
    browser = Browser(app, lab, "tech")
    assert f"/cases/{case_id}/labels.pdf?size=2x1in" in browser.get(f"/cases/{case_id}")
    reader = _read(browser, f"/cases/{case_id}/labels.pdf?size=2x1in", "labels-case-2x1in.pdf")
    found = [_symbols(page)["QRCode"][0] for page in reader.pages]
    assert found[:3] == barcodes and len(found) == 4
    assert found[3].startswith(firearm["barcode"] + ".")  # the sub-item's own label
    assert sub  # the sample answered with the sub-item
    for page, barcode in zip(reader.pages, found, strict=True):
        _assert_label(page, "2x1in", barcode)
    # Unknown sizes and another lab's case are refused.
    browser.get(f"/cases/{case_id}/labels.pdf?size=a4", expect=404)
    Browser(app, other_lab, "tech").get(f"/cases/{case_id}/labels.pdf", expect=404)
    Browser(app, other_lab, "tech").get(f"/items/{firearm['id']}/label.pdf", expect=404)


def test_qr_codes_are_standard_qr_even_for_short_text():
    # segno.make picks Micro QR for short text, which phone readers cannot read.
    for text in ("A/1", "DEMO-2026-00001/1", "L83030126-2026-00001/12.3"):
        qr = labels.qr_code(text)
        assert not qr.is_micro and isinstance(qr.version, int) and 1 <= qr.version <= 40
        assert qr.error in ("M", "Q", "H")
    assert label_pdf.code128_modules("A/1").startswith("11010010000")  # Start Code B
    assert set(label_pdf.SIZES) == set(SIZES)


def test_a_spanish_label_names_the_kind_as_its_page_does(app, client, lab):
    """The label page said 'vaina' and the printed label 'cartridge case' (the stored code)."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"], "cartridge_case", calibre="9mm Luger")
    browser = Browser(app, lab, "tech")
    browser.client.set_cookie("lang", "es")
    assert "vaina" in browser.get(f"/items/{item['id']}/label")
    reader = _read(browser, f"/items/{item['id']}/label.pdf?size=62mm", "label-es.pdf")
    text = " ".join((reader.pages[0].extract_text() or "").split())
    assert "vaina · 9mm Luger" in text and "cartridge" not in text
