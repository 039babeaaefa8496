"""Spanish everywhere: every message in the code has a Spanish translation in its domain's
catalogue, and the main pages, asked for in Spanish, show no English UI words."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from ballistics.core.context import acting_as
from ballistics.core.validation_messages import localized
from ballistics.evidence import custody
from ballistics.evidence.services import create_case
from ballistics.extensions import db
from tests.comparisons.helpers import searched_lab
from tests.support.web import Api, Browser, field_errors

ROOT = Path(__file__).resolve().parent.parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2), "wording": None, "counted": (2, 3)}
#: each catalogue and the source trees whose messages it holds (see ballistics/core/i18n.py)
CATALOGUES = {
    "ballistics/translations/es/LC_MESSAGES/messages.po": ("ballistics", "workers"),
    "sop/translations/es/LC_MESSAGES/messages.po": ("sop",),
}


def _extract(trees: tuple[str, ...]) -> dict[tuple[str, str | None], str]:
    """{(msgid, context): where it is used} for every message in ``trees``, as pybabel
    extracts it (a context, pgettext's first argument, tells two uses of one English apart)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for tree in trees:
        for filename, lineno, message, _comments, context in extract_from_dir(
                ROOT / tree, method_map, options_map, keywords=KEYWORDS,
                comment_tags=(), strip_comment_tags=True):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault((msgid, context), f"{tree}/{filename}:{lineno}")
    return found


def _catalogue(path: str) -> Catalog:
    with (ROOT / path).open("rb") as f:
        return read_po(f, locale="es")


@pytest.mark.parametrize("po", sorted(CATALOGUES))
def test_every_message_has_a_spanish_translation(po):
    used = _extract(CATALOGUES[po])
    catalogue = _catalogue(po)
    assert used, f"no messages found in {CATALOGUES[po]}"
    problems = []
    for (msgid, context), where in sorted(used.items(), key=lambda kv: (kv[0][0],
                                                                        kv[0][1] or "")):
        entry = catalogue.get(msgid, context=context)
        strings = entry and (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None:
            problems.append(f"missing: {msgid!r} ({where})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
        elif not all(strings):
            problems.append(f"empty: {msgid!r} ({where})")
    # placeholders: a %(name)s the English has must be in the Spanish (Babel's own checks)
    problems += [f"check: {message.id!r}: {'; '.join(map(str, errors))}"
                 for message, errors in catalogue.check()
                 if (message.id, message.context) in used]
    assert not problems, f"{po}: {len(problems)} untranslated\n" + "\n".join(problems)


#: English UI words that would betray an untranslated page (the footer's "English" button is
#: the language's own name, so it is not among them)
ENGLISH = ("Cases", "Log out", "Items", "Item", "Received", "Status", "Search", "Candidates",
           "Accounts", "Password", "Quality", "Created", "Username", "Sign in", "Custody")
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)



def _visible(page: str) -> str:
    # (a receipt once stored the English "Received from <agency>" as its reason: no longer)
    return html.unescape(TAGS.sub(" ", page))


def _spanish(client, path: str) -> str:
    response = client.get(path, headers={"Accept-Language": "es-CO,es;q=0.9"})
    assert response.status_code == 200, (path, response.status_code)
    page = response.text
    assert '<html lang="es">' in page, path
    return page


def _english_left(text: str) -> list[str]:
    return [word for word in ENGLISH if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)]


def test_main_pages_in_spanish(app, client, lab):
    searched = searched_lab(client, lab)
    examiner = Browser(app, lab, "examiner")
    manager = Browser(app, lab, "manager")
    item = searched["items"][0]
    pages = {
        "/login": app.test_client(),
        "/cases": examiner.client,
        f"/cases/{item['case_id']}": examiner.client,
        f"/items/{item['id']}": examiner.client,
        f"/searches/{searched['search']}": examiner.client,
        f"/candidates/{searched['candidates'][0]}/view": examiner.client,
        "/quality/": manager.client,
        "/accounts": manager.client,
        "/account": manager.client,
    }
    left = {}
    for path, client_ in pages.items():
        words = _english_left(_visible(_spanish(client_, path)))
        if words:
            left[path] = words
    assert not left, f"English words on Spanish pages: {left}"
    # the Spanish page does say what it is about
    assert "Casos" in _visible(_spanish(examiner.client, "/cases"))
    assert "Cerrar sesión" in _visible(_spanish(examiner.client, "/cases"))


def test_refusal_and_flash_are_spanish(app, lab):
    manager = Browser(app, lab, "manager")
    response = manager.client.post("/account/password", headers={"Accept-Language": "es"},
                                   data={"csrf_token": manager.token, "current_password": "",
                                         "new_password": ""})
    assert response.status_code == 422
    assert '<html lang="es">' in response.text
    flash = re.search(r'<p class="flash error" role="alert">([^<]*)</p>', response.text)
    assert flash and "Corrija el formulario" in html.unescape(flash.group(1)), flash
    # the field's own label and the schema's refusal, both in Spanish, beside the field too
    assert "Contraseña actual: Falta este dato obligatorio." in html.unescape(flash.group(1))
    assert field_errors(response.text)["current_password"] == "Falta este dato obligatorio."
    db.session.rollback()


def test_messages_outside_a_request_are_english(app):
    """A worker or the CLI raises the same refusals: no request, so no language to choose."""
    from flask_babel import gettext, refresh

    with app.app_context():
        refresh()
        assert gettext("Cases") == "Cases"
        assert gettext("Item %(barcode)s", barcode="X-1") == "Item X-1"


def test_stored_codes_and_fixed_scales_read_in_spanish(app, lab):
    """Codes kept English in the database (an item's kind and status, a role, an instrument's
    state) and the competency tool's areas and scale are shown in the reader's language."""
    from sop.services import equipment
    from tests.sop.scenario import as_

    tech, manager, examiner = (lab.users[w] for w in ("tech", "manager", "examiner"))
    with as_(manager):
        equipment.register(manager, code="MIC-01", name="Microscope",
                           kind="comparison_microscope")
    with as_(tech):
        case = create_case(tech, submitting_agency="Central Police")
        item = custody.receive(tech, case, kind="cartridge_case", from_agency="Central Police")
        custody.transfer(tech, item, to_user_id=examiner.id)
    db.session.commit()
    web, boss = Browser(app, lab, "examiner"), Browser(app, lab, "manager")

    items = _visible(_spanish(web.client, "/items"))
    assert "vaina" in items and "en custodia" in items
    assert "cartridge case" not in items and "in custody" not in items.lower()
    start = _visible(_spanish(web.client, "/quality/examinations/new"))
    assert f"{item.barcode} · vaina" in start and "MIC-01 · Microscope (nunca calibrado)" in start
    for path in ("/accounts", "/quality/people", f"/quality/people/{examiner.id}"):
        page = _visible(_spanish(boss.client, path))
        assert "jefe de laboratorio" in page or "perito" in page, path
        assert not re.search(r"lab manager|evidence technician|technical reviewer", page), path
    competency = _visible(_spanish(boss.client, f"/quality/examiners/{examiner.id}/competency"))
    assert "Manejo de indicios y cadena de custodia" in competency
    assert "Experto: puede formar y evaluar a otros" in competency
    assert "Evidence handling" not in competency and "Expert:" not in competency


def test_error_pages_are_spanish(app, lab):
    web = Browser(app, lab, "examiner")
    missing = web.client.get("/no-such-page", headers={"Accept-Language": "es"})
    assert missing.status_code == 404
    text = _visible(missing.text)
    assert "404 · no encontrado" in text and "No hay ninguna página en esta dirección" in text
    assert "not found" not in text and "requested URL" not in text
    refused = web.client.get("/accounts", headers={"Accept-Language": "es"})
    assert refused.status_code == 403 and "403 · prohibido" in _visible(refused.text)
    # the API keeps its stable code and Werkzeug's sentence
    api = web.client.get("/api/v1/no-such-thing", headers={"Accept-Language": "es"})
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"


def test_app_refusals_and_bad_filters_are_spanish(app, lab):
    """The app's own validators (not marshmallow's) and a list's refused filter speak Spanish
    on pages; the refused case is not saved."""
    from ballistics.evidence.models import Case

    web = Browser(app, lab, "tech")
    web.client.set_cookie("lang", "es")
    before = db.session.query(Case).filter_by(lab_id=lab.lab.id).count()
    _, page, _ = web.submit("/cases", {"submitting_agency": "CPD", "offence_date": "2999-01-01"})
    assert field_errors(page) == {"offence_date": "No puede ser una fecha futura."}
    assert db.session.query(Case).filter_by(lab_id=lab.lab.id).count() == before
    refused = web.client.get("/cases?opened_from=2026-12-01&opened_to=2026-01-01")
    text = _visible(refused.text)
    assert refused.status_code == 400 and "Filtro no válido: no se lista nada" in text
    assert "La fecha final es anterior a la inicial." in text
    text = _visible(web.client.get("/cases?page=0").text)
    assert "Debe estar entre 1 y 10000." in text and "greater than" not in text
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert localized("Must not be blank.") == "No puede quedar en blanco."


def test_an_instruments_state_is_said_in_spanish(app, lab):
    """Why an instrument may not be used, on its page and the equipment list, and the refusal
    to take it out of service twice, in the reader's language."""
    from datetime import timedelta

    from ballistics.core import timeutil
    from sop.services import equipment
    from tests.sop.scenario import as_

    manager = lab.users["manager"]
    today = timeutil.utcnow().date()
    with as_(manager):
        balance = equipment.register(manager, code="BAL-01", name="Balance", kind="balance")
        equipment.record_calibration(manager, balance, kind="performance_check",
                                     performed_on=today, due_on=today + timedelta(days=1),
                                     is_passed=False)
        scope = equipment.register(manager, code="MIC-01", name="Microscope",
                                   kind="comparison_microscope")
        equipment.set_service(manager, scope, out_of_service=True, reason="Lamp broken")
    db.session.commit()
    boss = Browser(app, lab, "manager")
    boss.client.set_cookie("lang", "es")
    listed = _visible(boss.get("/quality/equipment"))
    assert "no superó su verificación de desempeño del" in listed
    assert "retirado de servicio (Lamp broken)" in listed
    assert "failed its" not in listed and "taken out of service" not in listed
    page = _visible(boss.get(f"/quality/equipment/{scope.id}"))
    assert "No debe usarse en casos: retirado de servicio (Lamp broken)." in page
    # a second "out of service" (a script, or two people at once) is refused in Spanish too
    again = boss.client.post(f"/api/v1/equipment/{scope.id}/service",
                             json={"out_of_service": True, "reason": "Still broken"},
                             headers={**lab.headers("manager"), "Accept-Language": "es"})
    assert again.status_code == 409
    assert again.get_json()["message"] == "MIC-01 ya está fuera de servicio."


def test_a_date_before_another_names_that_field_by_its_label(app, lab):
    """The refusal beside "Next due" names the date it must follow as the form labels it
    ("Realizada el"), not by the schema's name (performed_on)."""
    from sop.services import equipment
    from tests.sop.scenario import as_

    manager = lab.users["manager"]
    with as_(manager):
        scope = equipment.register(manager, code="MIC-01", name="Microscope",
                                   kind="comparison_microscope")
    db.session.commit()
    boss = Browser(app, lab, "manager")
    boss.client.set_cookie("lang", "es")
    _, page, _ = boss.submit(f"/quality/equipment/{scope.id}/calibrations", {
        "kind": "calibration", "performed_on": "2026-03-02", "due_on": "2026-03-01",
        "is_passed": "true"})
    assert field_errors(page) == {"due_on": "Anterior a la fecha «Realizada el»."}


def test_list_filters_and_audit_actions_are_spanish(app, lab):
    """The choices of the search, finding and audit filters, and the audit log's action
    column, name stored codes (queued, blocking, insert) in the reader's language."""
    with acting_as(lab.id("tech"), lab.lab.id, "test"):
        create_case(lab.users["tech"], submitting_agency="Central Police")  # an audited insert
    db.session.commit()
    web, boss = Browser(app, lab, "examiner"), Browser(app, lab, "manager")
    searches = _visible(_spanish(web.client, "/searches"))
    assert "en cola" in searches and "comparando" in searches
    assert not re.search(r"\b(queued|comparing|ranking)\b", searches)
    findings = _visible(_spanish(boss.client, "/quality/findings"))
    assert "bloqueante" in findings and "blocking" not in findings
    audit = _spanish(boss.client, "/audit")
    assert '<option value="insert">alta</option>' in audit
    assert re.search(r'<span class="kind">alta</span>', audit)
    assert not re.search(r'<span class="kind">(insert|update|read)</span>', audit)


def test_an_item_in_storage_is_held_by_the_deposito(app, client, lab):
    """The holder of a stored item, on its page, the item list and its timeline, is named in
    the reader's language ("Storage SHELF-1" was English on Spanish pages)."""
    tech = Api(client, lab, "tech")
    item = tech.receive(tech.new_case()["id"])
    tech.post(f"/items/{item['id']}/store", {"location_id": lab.location_id})
    web = Browser(app, lab, "tech")
    page = _visible(_spanish(web.client, f"/items/{item['id']}"))
    assert "Depósito SHELF-1" in page and "→ Depósito SHELF-1 (Shelf 1)" in page
    assert "Storage SHELF-1" not in page
    assert "Depósito SHELF-1" in _visible(_spanish(web.client, "/items"))
    assert "Storage SHELF-1" in _visible(web.get(f"/items/{item['id']}"))  # English stays
