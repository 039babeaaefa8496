"""How the scores were validated, as the API and the page an examiner reads show it, and no LR
for a pair outside the calibration's domain."""

from __future__ import annotations

import re

import pytest

from ballistics.comparisons import validation
from ballistics.comparisons.models import Candidate
from ballistics.core.wording import english
from ballistics.extensions import db
from tests.comparisons.helpers import searched_lab
from tests.support.web import Api, Browser, unescape


def test_validation_endpoint(client, lab):
    body = Api(client, lab, "examiner").get("/comparisons/validation")
    cal = validation.calibration()
    assert body["algorithm_version"] == cal.algorithm_version
    sets = {d["name"]: d for d in body["data_sets"]}
    weller = sets["weller2012"]
    # Leave-one-slide-out figures of the shipped calibration, as stored with it.
    assert weller["n_km"] == 370 and weller["n_knm"] == 4095 and "slide" in weller["how"]
    for key in ("cllr", "cllr_min", "rate_misleading_km", "rate_misleading_knm", "roc_auc"):
        assert weller[key] == cal.validation["weller2012"][key]
    assert len(weller["ece"]["lr"]) == len(weller["ece"]["log10_prior_odds"])
    assert {"baldwin2014", "baldwin2014_without_K004fA3", "fadul2011"} <= set(sets)
    assert body["domain"]["modality"] == "3d" and "not an identification" in body["note"]
    lrs = [p["lr"] for p in body["curve"]]
    assert lrs == sorted(lrs)  # non-decreasing in the score


def test_validation_page(app, lab):
    page = Browser(app, lab, "examiner").get("/comparisons/validation")
    assert "leave-one-slide-out" in page and "C<sub>llr,min</sub>" in page
    assert 'data-set="weller2012"' in page and 'class="ece"' in page
    assert "not an identification" in page.lower()


def test_outside_the_domain_the_score_comes_without_an_lr(app, client, lab):
    # The synthetic test scans are raw full-primer scans (heights spread over ~180 µm).
    found = searched_lab(client, lab)
    c = db.session.get(Candidate, found["candidates"][0])
    assert c.likelihood_ratio is None and "raw scan" in c.lr_note and c.score > 5
    browser = Browser(app, lab, "examiner")
    page = browser.get(f"/searches/{found['search']}")
    assert re.search(r'data-no-lr>none<', page) and "/comparisons/validation" in page
    view = browser.get(f"/candidates/{c.id}/view")
    assert 'data-testid="no-lr"' in view and "raw scan" in view
    # Spanish: "ninguna", agreeing with la razón de verosimilitud (not the labels' "ninguno")
    spanish = {path: browser.client.get(path, headers={"Accept-Language": "es"}).text
               for path in (f"/searches/{found['search']}", f"/candidates/{c.id}/view")}
    assert "data-no-lr>ninguna<" in spanish[f"/searches/{found['search']}"]
    assert 'data-testid="no-lr">ninguna<' in spanish[f"/candidates/{c.id}/view"]
    body = Api(client, lab, "examiner").get(f"/searches/{found['search']}")
    top = body["candidates"][0]
    assert top["likelihood_ratio"] is None and "raw scan" in top["lr_note"]
    # The reason itself in Spanish, on both pages and in the API (the note stays English).
    assert c.lr_wording is not None and english(c.lr_wording) == c.lr_note
    assert "No likelihood ratio: the query is a raw scan" in c.lr_note
    said = "Sin razón de verosimilitud: la consulta es un escaneo en bruto (alturas repartidas en"
    assert f'title="{said}' in spanish[f"/searches/{found['search']}"]
    assert f"— {said}" in spanish[f"/candidates/{c.id}/view"]
    assert "raw scan" not in spanish[f"/candidates/{c.id}/view"]
    es = _api_es(client, lab, f"/searches/{found['search']}")["candidates"][0]
    assert es["lr_note"].startswith(said)


def _api_es(client, kit, path: str) -> dict:
    response = client.get(f"/api/v1{path}",
                          headers={**kit.headers("examiner"), "Accept-Language": "es"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


INSIDE = {"modality": "3d", "native_pixel_um": 6.25, "input_height_range_um": 8.0}
RAW_ES = ("la calibración abarca caras del cierre niveladas y filtradas paso banda antes de "
          "subirlas (alturas repartidas en 40 µm como máximo), y los escaneos en bruto procesados "
          "aquí puntúan de otro modo (las no coincidencias en bruto de correderas fabricadas "
          "consecutivamente alcanzan 12-16 celdas)")
#: (query meta, reference meta, region) -> the English note as it always read, and in Spanish
REASONS = [
    ({}, {}, "firing_pin",
     "No likelihood ratio: the calibration covers breech face scans, not firing pin.",
     "Sin razón de verosimilitud: la calibración abarca escaneos de cara del cierre, no de "
     "percutor."),
    ({}, {"modality": "2d"}, "breech_face",
     "No likelihood ratio: the reference is a 2D image; the calibration covers 3D topography "
     "only (a grey-level image is not a height map).",
     "Sin razón de verosimilitud: la referencia es una imagen 2D; la calibración abarca solo "
     "topografía 3D (una imagen en escala de grises no es un mapa de alturas)."),
    ({"native_pixel_um": None}, {}, "breech_face",
     "No likelihood ratio: the query's pixel size is not recorded (features made before "
     "2.0.0).",
     "Sin razón de verosimilitud: el tamaño de píxel de la consulta no está registrado "
     "(características calculadas antes de la versión 2.0.0)."),
    ({"native_pixel_um": 0.84375}, {}, "breech_face",
     "No likelihood ratio: the query's pixel size 0.844 µm is outside the calibration's "
     "3.125-12.5 µm.",
     "Sin razón de verosimilitud: el tamaño de píxel de la consulta, 0,844 µm, está fuera del "
     "intervalo de la calibración, 3,125-12,5 µm."),
    ({}, {"input_height_range_um": 120.4}, "breech_face",
     "No likelihood ratio: the reference is a raw scan (heights spread over 120 µm); the "
     "calibration covers breech faces levelled and band-pass filtered before upload (spread at "
     "most 40 µm), and raw scans processed here score differently (raw non-matches of "
     "consecutively made slides reach 12-16 cells).",
     "Sin razón de verosimilitud: la referencia es un escaneo en bruto (alturas repartidas en "
     f"120 µm); {RAW_ES}."),
]


@pytest.mark.parametrize(("query", "reference", "region", "note", "spanish"), [
    pytest.param(*r, id=f"reason-{i}") for i, r in enumerate(REASONS)])
def test_each_reason_is_worded_in_english_and_said_in_spanish(sqlite_app, query, reference,
                                                              region, note, spanish):
    with sqlite_app.test_request_context(headers={"Accept-Language": "es"}):
        lr, why = validation.likelihood_ratio(20.0, {**INSIDE, **query},
                                              {**INSIDE, **reference}, region)
        assert lr is None and english(why) == note
        assert validation.lr_reason(why, note) == spanish


def test_every_reason_reads_in_the_readers_language_on_the_pages_and_in_the_api(app, client,
                                                                                lab):
    """Each kind of reason stored with a candidate: its English note for machines, the Spanish
    sentence on a Spanish reader's candidate and search pages and in the API asked in Spanish;
    a candidate stored before wordings were kept (a note, no wording) still shows its note."""
    found = searched_lab(client, lab)
    search, candidate_id = found["search"], found["candidates"][0]
    browser = Browser(app, lab, "examiner")
    for query, reference, region, note, spanish in REASONS:
        c = db.session.get(Candidate, candidate_id)
        _, why = validation.likelihood_ratio(c.score, {**INSIDE, **query},
                                             {**INSIDE, **reference}, region)
        c.lr_note, c.lr_wording = english(why), why
        db.session.commit()
        view = browser.client.get(f"/candidates/{candidate_id}/view",
                                  headers={"Accept-Language": "es"}).text
        listed = browser.client.get(f"/searches/{search}",
                                    headers={"Accept-Language": "es"}).text
        assert f"— {spanish}</span>" in unescape(view)
        assert f'title="{spanish}" data-no-lr' in unescape(listed)
        assert _api_es(client, lab, f"/searches/{search}")["candidates"][0]["lr_note"] == (
            spanish)
        english_view = browser.client.get(f"/candidates/{candidate_id}/view",
                                          headers={"Accept-Language": "en"}).text
        assert f"— {note}</span>" in unescape(english_view)
        api = Api(client, lab, "examiner").get(f"/searches/{search}")
        assert api["candidates"][0]["lr_note"] == note
    # Stored before 0022: the English note, whatever the reader's language.
    c = db.session.get(Candidate, candidate_id)
    c.lr_note, c.lr_wording = "No likelihood ratio: an old reason.", None
    db.session.commit()
    view = browser.client.get(f"/candidates/{candidate_id}/view",
                              headers={"Accept-Language": "es"}).text
    listed = browser.client.get(f"/searches/{search}", headers={"Accept-Language": "es"}).text
    assert "— No likelihood ratio: an old reason.</span>" in view
    assert 'title="No likelihood ratio: an old reason." data-no-lr' in listed
    assert (_api_es(client, lab, f"/searches/{search}")["candidates"][0]["lr_note"]
            == "No likelihood ratio: an old reason.")


def test_validation_figures_are_written_in_the_readers_locale(app, lab):
    """Counts and decimals as the language writes them: 4,095 and 0.1234 in English, 4095 and
    0,1234 in Spanish (which groups from five digits); the API keeps plain numbers."""
    cllr = validation.calibration().validation["weller2012"]["cllr"]
    browser = Browser(app, lab, "examiner")
    rows = {}
    for locale in ("en", "es"):
        page = browser.client.get("/comparisons/validation",
                                  headers={"Accept-Language": locale}).text
        assert f'<html lang="{locale}">' in page
        rows[locale] = page.split('data-set="weller2012"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">4,095</td>' in rows["en"] and "4.095" not in rows["en"]
    assert '<td class="num">4095</td>' in rows["es"] and "4,095" not in rows["es"]
    assert f'<td class="num">{cllr:.4f}</td>' in rows["en"]
    assert f'<td class="num">{cllr:.4f}</td>'.replace(".", ",") in rows["es"]


def test_the_calibrations_description_is_said_in_the_readers_language(app, lab):
    """The shipped description is English data; the page says it in the reader's language
    with the calibration's own figures, and keeps its capitals (ELUB, Weller)."""
    browser = Browser(app, lab, "examiner")
    pages = {locale: unescape(browser.client.get("/comparisons/validation", headers={
        "Accept-Language": locale}).text) for locale in ("en", "es")}
    assert ("Fitted with lir (logistic regression, ELUB bounds) on all 4,465 pairs of the Weller "
            "et al. (2012) scans, 11 consecutively made Ruger P95 slides (370 known matches, "
            "4,095 known non-matches); validated leave-one-slide-out and on the Baldwin and "
            "Fadul scans.") in pages["en"]
    assert ("Ajustada con lir (regresión logística, cotas ELUB) sobre los 4465 pares de los "
            "escaneos de Weller et al. (2012), 11 correderas Ruger P95 fabricadas "
            "consecutivamente (370 coincidencias conocidas, 4095 no coincidencias conocidas); "
            "validada dejando fuera una corredera cada vez y sobre los escaneos de Baldwin y "
            "Fadul.") in pages["es"]


def test_a_description_the_catalogue_does_not_know_stays_as_written(sqlite_app, monkeypatch):
    cal = validation.calibration()
    shipped = cal.description
    # A calibration fitted on other data: its own English, not a translation of the shipped one.
    monkeypatch.setattr(cal, "description", "fitted with lir on 12 pairs of another study")
    with sqlite_app.test_request_context(headers={"Accept-Language": "es"}):
        assert validation.description_said() == "Fitted with lir on 12 pairs of another study"
    # The shipped words with figures that are not the calibration's: not said either.
    monkeypatch.setattr(cal, "description", shipped)
    monkeypatch.setitem(cal.training, "n_km", 371)
    with sqlite_app.test_request_context(headers={"Accept-Language": "es"}):
        assert validation.description_said() == shipped[:1].upper() + shipped[1:]


def test_the_validations_data_sentences_are_said_in_the_readers_language(app, lab):
    """The method, the domain and how each data set was validated are English data of the
    shipped calibration: the Spanish page says each in Spanish, the English one as shipped."""
    browser = Browser(app, lab, "examiner")
    pages = {locale: unescape(browser.client.get("/comparisons/validation", headers={
        "Accept-Language": locale}).text) for locale in ("en", "es")}
    cal = validation.calibration()
    english = [validation.METHOD, cal.domain["summary"],
               *{fig["how"] for fig in cal.validation.values()}]
    for text in english:
        assert text in pages["en"] and text not in pages["es"], text
    for spanish in ("recortado a las cotas empíricas inferior y superior (ELUB",
                    "píxel nativo de 3,125-12,5 µm, comparadas en la cuadrícula de 25 µm",
                    "dejando fuera una corredera cada vez: el LR de cada par procede",
                    "calibración ajustada con todos los pares de Weller",
                    "escaneos repetidos de las mismas vainas",
                    "sin LR: la consulta es un escaneo en bruto (alturas repartidas en 122 µm)"):
        assert spanish in pages["es"], spanish


def test_a_data_sentence_the_catalogue_does_not_know_stays_as_written(sqlite_app):
    with sqlite_app.test_request_context(headers={"Accept-Language": "es"}):
        assert validation.shipped_said("validated on 12 pairs of another study") == (
            "validated on 12 pairs of another study")
        assert validation.shipped_said(validation.METHOD).startswith("log10 LR = intercepto")
