"""How the scores were validated, as the API and the page an examiner reads show it, and no LR
for a pair outside the calibration's domain."""

from __future__ import annotations

import re

from ballistics.comparisons import validation
from ballistics.comparisons.models import Candidate
from ballistics.extensions import db
from tests.comparisons.helpers import searched_lab
from tests.support.web import Api, Browser


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
