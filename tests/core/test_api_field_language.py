"""The API's per-field refusals (``fields``) in the caller's language, as its ``message`` is.

Spanish-speaking labs script against the API: a refused body or query names each field and
why in Spanish (marshmallow's own messages included, their limits and choices kept); English
callers read what the API always answered, word for word. The language is the account's,
else ``Accept-Language``.
"""

from __future__ import annotations

import pytest
from marshmallow import Schema, validate
from marshmallow import fields as mf

from ballistics.auth.models import User
from ballistics.core.api import OPERATIONS
from ballistics.core.validation_messages import api_messages, localized
from ballistics.evidence.models import ItemKind
from ballistics.extensions import db

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}
KINDS = ", ".join(kind.value for kind in ItemKind)


def _ask(client, lab, method: str, path: str, headers: dict, **kwargs) -> dict:
    answer = client.open(f"/api/v1{path}", method=method,
                         headers={**lab.headers("tech"), **headers}, **kwargs)
    assert answer.status_code == 422, (answer.status_code, answer.get_json())
    body = answer.get_json()
    assert body["error"] == "validation_error"
    return body["fields"]


def _new_case(client, lab) -> int:
    answer = client.post("/api/v1/cases", json={"submitting_agency": "Central Police"},
                         headers=lab.headers("tech"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def test_a_refused_item_body_names_each_field_in_the_callers_language(app, client, lab):
    """POST /cases/{id}/items: a wrong type, a length with its limits, a choice with its
    choices and an unknown field, all in one answer; then the missing fields."""
    case_id = _new_case(client, lab)
    path = f"/cases/{case_id}/items"
    bad = {"kind": "rocket", "from_agency": "x" * 201, "quantity": "many", "colour": "red"}
    assert _ask(client, lab, "POST", path, ES, json=bad) == {
        "kind": [f"Debe ser uno de: {KINDS}."],
        "from_agency": ["La longitud debe estar entre 1 y 200."],
        "quantity": ["No es un número entero válido."],
        "colour": ["Campo desconocido."]}
    assert _ask(client, lab, "POST", path, EN, json=bad) == {
        "kind": [f"Must be one of: {KINDS}."],
        "from_agency": ["Length must be between 1 and 200."],
        "quantity": ["Not a valid integer."],
        "colour": ["Unknown field."]}
    out_of_range = {"kind": "bullet", "from_agency": "P", "quantity": 0}
    assert _ask(client, lab, "POST", path, ES, json=out_of_range) == {
        "quantity": ["Debe estar entre 1 y 10000."]}
    assert _ask(client, lab, "POST", path, EN, json=out_of_range) == {
        "quantity": ["Must be greater than or equal to 1 and less than or equal to 10000."]}
    assert _ask(client, lab, "POST", path, ES, json={}) == {
        "kind": ["Falta este dato obligatorio."], "from_agency": ["Falta este dato obligatorio."]}
    assert _ask(client, lab, "POST", path, EN, json={}) == {
        "kind": ["Missing data for required field."],
        "from_agency": ["Missing data for required field."]}


def test_a_refused_case_body_says_the_apps_own_reasons_in_spanish(app, client, lab):
    """POST /cases: marshmallow's messages and the app's own validators (blank, future date,
    hidden characters), and a body that is not an object."""
    fields = _ask(client, lab, "POST", "/cases", ES, json={
        "submitting_agency": "   ", "offence_date": "2999-01-01", "agency_case_number": "x" * 81})
    assert fields == {
        "submitting_agency": ["No puede quedar en blanco."],
        "offence_date": ["No puede ser una fecha futura."],
        "agency_case_number": ["Supera la longitud máxima de 80."]}
    # hidden characters are refused before the rest is read
    assert _ask(client, lab, "POST", "/cases", ES, json={
        "submitting_agency": "P", "notes": "a\u202eb"}) == {
        "notes": ["Contiene el carácter de control invisible RIGHT-TO-LEFT OVERRIDE (U+202E); "
                  "quítelo."]}
    fields = _ask(client, lab, "POST", "/cases", ES, json={"submitting_agency": "P",
                                                            "offence_date": "yesterday"})
    assert fields == {"offence_date": ["No es una fecha válida."]}
    assert _ask(client, lab, "POST", "/cases", ES, data="[]",
                content_type="application/json") == {"_body": ["Se esperaba un objeto JSON."]}
    assert _ask(client, lab, "POST", "/cases", EN, data="[]",
                content_type="application/json") == {"_body": ["Expected a JSON object."]}


def test_a_refused_list_query_names_each_parameter_in_the_callers_language(app, client, lab):
    """GET /cases: text for a number, a range and a length with their limits, an unknown and
    a repeated parameter."""
    assert _ask(client, lab, "GET", "/cases", ES, query_string={
        "limit": "many", "offset": "-1", "q": "x" * 201, "colour": "red"}) == {
        "limit": ["No es un número entero válido."],
        "offset": ["Debe estar entre 0 y 1000000."],
        "q": ["Supera la longitud máxima de 200."],
        "colour": ["Campo desconocido."]}
    assert _ask(client, lab, "GET", "/cases", EN, query_string={
        "limit": "many", "offset": "-1", "q": "x" * 201, "colour": "red"}) == {
        "limit": ["Not a valid integer."],
        "offset": ["Must be greater than or equal to 0 and less than or equal to 1000000."],
        "q": ["Longer than maximum length 200."],
        "colour": ["Unknown field."]}
    assert _ask(client, lab, "GET", "/cases?limit=1&limit=2", ES) == {
        "limit": ["Indíquelo una sola vez."]}
    assert _ask(client, lab, "GET", "/cases?limit=1&limit=2", EN) == {"limit": ["Give it once."]}


def test_a_second_list_query_and_a_query_less_operation_in_spanish(app, client, lab):
    """GET /compliance/findings (the app's own validator of a rule's id, a minimum with no
    maximum) and GET /me, which takes no parameters."""
    assert _ask(client, lab, "GET", "/compliance/findings", ES, query_string={
        "rule_id": "no-such-rule", "examination_id": "0", "limit": "1001"}) == {
        "rule_id": ["No existe esa regla; GET /api/v1/compliance/rules las enumera."],
        "examination_id": ["Debe ser al menos 1."],
        "limit": ["Debe estar entre 1 y 1000."]}
    assert _ask(client, lab, "GET", "/compliance/findings", EN, query_string={
        "examination_id": "0"}) == {"examination_id": ["Must be greater than or equal to 1."]}
    assert _ask(client, lab, "GET", "/me?colour=red", ES) == {"colour": ["Parámetro desconocido."]}
    assert _ask(client, lab, "GET", "/me?colour=red", EN) == {"colour": ["Unknown parameter."]}


def test_an_account_that_chose_spanish_reads_its_field_errors_in_spanish(app, client, lab):
    """No Accept-Language: the token's account's language decides, for a body and a query."""
    db.session.get(User, lab.id("tech")).locale = "es"
    db.session.commit()
    assert _ask(client, lab, "POST", "/cases", {}, json={}) == {
        "submitting_agency": ["Falta este dato obligatorio."]}
    assert _ask(client, lab, "GET", "/cases", {}, query_string={"limit": "501"}) == {
        "limit": ["Debe estar entre 1 y 500."]}


def test_a_refused_password_says_why_in_the_callers_language(app, client, lab):
    """The password policy's reasons (ours and zxcvbn's) beside the field, in Spanish; the
    English is as it was."""
    from tests.support.labs import PASSWORD

    def refused(headers: dict, new_password: str) -> list[str]:
        return _ask(client, lab, "POST", "/me/password", headers, json={
            "current_password": PASSWORD, "new_password": new_password})["new_password"]

    assert refused(ES, "short-pw") == [
        "Use al menos 12 caracteres (unas cuantas palabras sin relación entre sí funcionan "
        "bien)."]
    assert refused(EN, "short-pw") == [
        "Use at least 12 characters (a few unrelated words work well)."]
    assert refused(ES, "password1234") == [
        "Es una contraseña muy común. Elija algo menos común (unas cuantas palabras sin relación "
        "entre sí)."]
    assert refused(EN, "password1234") == [
        "This is a very common password. Choose something less common (a few unrelated "
        "words)."]


# -- every message the API's schemas can produce has its Spanish -----------------------------


def _validator_messages(validator) -> list[str]:
    """What a marshmallow validator can say (callables of the app's own say theirs through the
    catalogue where they raise; the tests above check them)."""
    if isinstance(validator, validate.And):
        return [m for inner in validator.validators for m in _validator_messages(inner)]
    if isinstance(validator, validate.Length):
        message = (validator.message_equal if validator.equal is not None else
                   validator.message_all if None not in (validator.min, validator.max) else
                   validator.message_min if validator.min is not None else validator.message_max)
        return [str(validator._format_error(7, message))]
    if isinstance(validator, validate.Range):
        message = (validator.message_all if None not in (validator.min, validator.max) else
                   validator.message_min if validator.min is not None else validator.message_max)
        return [str(validator._format_error(7, message))]
    if isinstance(validator, validate.OneOf | validate.Regexp):
        return [str(validator._format_error("x"))]
    return []


def _field_messages(field: mf.Field, where: str) -> list[tuple[str, str]]:
    found = []
    for key, message in field.error_messages.items():
        if key == "format":  # said when dumping only
            continue
        if key == "invalid_awareness" and not hasattr(field, "AWARENESS"):
            continue
        if isinstance(message, str):
            message = message.format(obj_type=getattr(field, "OBJ_TYPE", ""),
                                     awareness=getattr(field, "AWARENESS", ""), input="x")
        found.append((f"{where} ({key})", str(message)))
    found += [(where, message) for v in field.validators for message in _validator_messages(v)]
    for inner in (getattr(field, "inner", None), getattr(field, "value_field", None),
                  getattr(field, "key_field", None)):
        if isinstance(inner, mf.Field):
            found += _field_messages(inner, f"{where}[]")
    if isinstance(field, mf.Nested):
        found += _schema_messages(field.schema, where)
    return found


def _schema_messages(schema: Schema, where: str) -> list[tuple[str, str]]:
    found = [(f"{where} ({key})", str(message)) for key, message in schema.error_messages.items()]
    for name, field in schema.load_fields.items():
        found += _field_messages(field, f"{where}.{name}")
    return found


def _api_messages() -> list[tuple[str, str]]:
    found = []
    for op in OPERATIONS:
        if not op.rule.startswith("/api/"):  # the hub's callers are lab nodes, not people
            continue
        for schema in (op.body, op.form, op.query):
            if schema is not None:
                found += _schema_messages(schema(), f"{op.method} {op.rule} {schema.__name__}")
    return found


def test_every_message_the_apis_schemas_can_produce_is_said_in_spanish(sqlite_app):
    """Walk every body, form and query schema of the API, nested ones too: each message of its
    fields and validators (with their limits and choices) has its Spanish; a new field type or
    validator whose English would reach a Spanish caller fails here."""
    with sqlite_app.test_request_context(headers=EN):
        english = _api_messages()
    with sqlite_app.test_request_context(headers=ES):
        spanish = [localized(message) for _, message in _api_messages()]
    assert len(english) == len(spanish) > 1000
    untranslated = sorted({f"{message!r} ({where})" for (where, message), said
                           in zip(english, spanish, strict=True) if said == message})
    assert not untranslated, "\n".join(untranslated)


@pytest.mark.parametrize(("english", "spanish"), [
    ("Length must be between 3 and 16.", "La longitud debe estar entre 3 y 16."),
    ("Length must be 32.", "La longitud debe ser 32."),
    ("Must be greater than or equal to -2147483648 and less than or equal to 2147483647.",
     "Debe estar entre -2147483648 y 2147483647."),
    ("Must be greater than or equal to 0.0.", "Debe ser al menos 0.0."),
    ("Must be one of: low, high.", "Debe ser uno de: low, high."),
    ("Number too large.", "Número demasiado grande."),
    ("Not a valid mapping type.", "No es un objeto válido."),
])
def test_api_messages_keep_limits_and_choices(sqlite_app, english, spanish):
    """The API's ``fields`` keep their limits and choices in Spanish; English is as it was."""
    with sqlite_app.test_request_context(headers=ES):
        assert api_messages({"f": [english, "Ya en español."]}) == {
            "f": [spanish, "Ya en español."]}
    with sqlite_app.test_request_context(headers=EN):
        assert api_messages({"f": [english]}) == {"f": [english]}
