"""The OpenAPI 3 document, built from the operations the API blueprints declared."""

from __future__ import annotations

import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify

from ballistics.auth.idempotency import HEADER, MAX_LENGTH, REPLAYED
from ballistics.core.api import MAX_JSON_DEPTH, OPERATIONS
from ballistics.core.fields import DB_INT_MAX

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "message", "fields"],
    "properties": {
        "error": {"type": "string", "description": "stable error code"},
        "message": {"type": "string", "description": "what went wrong, for a person, in the "
                    "caller's language (their account's, else Accept-Language)"},
        "fields": {"type": "object", "description": "why each field was refused, by the "
                   "field's name, in the caller's language too", "additionalProperties": {
                       "type": "array", "items": {"type": "string"}}},
    },
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(match: re.Match) -> str:
        conv, name = match.group(1), match.group(2)
        schema = ({"type": "integer", "minimum": 1, "maximum": DB_INT_MAX} if conv == "int"
                  else {"type": "string"})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", repl, rule), params


DESCRIPTION = f"""Evidence, chain of custody, comparisons and quality records of a firearms
laboratory.

Every error answers `{{"error": code, "message": text, "fields": {{field: [messages]}}}}`; a
nested field is named by its path (`steps.0.title`). The code and the field names are stable;
the message and the field messages are in the caller's language (their account's, else
`Accept-Language`: English or Spanish). Input is strict: JSON numbers for
numbers (`"5"` is not an integer), `true`/`false` for booleans, unknown body fields and unknown
or repeated query parameters are refused (422), integers lie within -2^31..2^31-1 (the
database's range), and a JSON body nests at most {MAX_JSON_DEPTH} levels.

Operations that write take an optional `{HEADER}` header (1 to {MAX_LENGTH} printable ASCII
characters, e.g. a UUID; IETF draft "The Idempotency-Key HTTP Header Field"): a request sent
again with the same key, by the same user, to the same operation with the same body gets the
first answer again (status and body, with `{REPLAYED}: true`) and writes nothing; the same key
with another operation, record or body answers 422 naming the header; a request sent while the
first is still running waits for it and gets its answer. Refusals are not kept (nothing was
written; sending it again runs it again). Keys belong to one user and are kept 24 hours (the
server's `IDEMPOTENCY_KEY_HOURS`); reads and the operations that do not list the header ignore
it."""

#: the header as a parameter of every operation that honours it
IDEMPOTENCY_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "description": "Do this once per key: a retry with the same key and request replays the "
                   "first answer and writes nothing; with another request it answers 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH,
               "pattern": "^[ -~]+$"},
}
#: the header of a replayed answer
REPLAYED_HEADER = {
    REPLAYED: {"description": "`true` when the answer is the stored answer of an earlier "
                              f"request with the same `{HEADER}`",
               "schema": {"type": "string", "enum": ["true"]}},
}


def _form_schema(plugin: MarshmallowPlugin, form) -> dict:
    """The multipart body: the form schema's fields (as text) plus the file, in one object (an
    allOf with the schema's ``additionalProperties: false`` could never be satisfied)."""
    schema = plugin.converter.schema2jsonschema(form)
    properties = {**schema.get("properties", {}),
                  "file": {"type": "string", "format": "binary"}}
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "required": [*schema.get("required", []), "file"]}


def _statuses(op, has_path_params: bool) -> set[int]:
    """Every status the operation can answer besides success."""
    statuses = {*op.errors, 422}  # unknown query parameters, invalid body, out-of-range id
    if not op.public:
        statuses.add(401)
    if has_path_params:
        statuses.add(404)
    if op.body is not None or op.form is not None:
        statuses.add(413)
    if op.idempotent:
        statuses.add(409)  # the key taken by a request whose answer could not be read
    return statuses


@cache
def build_spec() -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(title="ballistics API", version="1", openapi_version="3.0.3",
                   plugins=[plugin], info={"description": DESCRIPTION})
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path, params = _path(op.rule)
        entry: dict = {"summary": op.summary, "tags": op.tags, "operationId": op.endpoint,
                       "parameters": list(params), "responses": {}}
        if not op.public:
            entry["security"] = [{"bearer": []}]
        if op.query is not None:
            entry["parameters"] += [{"in": "query", "schema": op.query}]
        if op.idempotent:
            entry["parameters"].append(IDEMPOTENCY_PARAMETER)
        if op.body is not None:
            # An empty body is taken as {} (every field at its default): optional unless a
            # field is required.
            required = any(f.required for f in op.body().fields.values())
            entry["requestBody"] = {"required": required,
                                    "content": {"application/json": {"schema": op.body}}}
        if op.form is not None:
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": _form_schema(plugin, op.form)}}}
        ok: dict = {"description": "success"}
        if op.idempotent:
            ok["headers"] = REPLAYED_HEADER
        if op.response is not None:
            schema = op.response
            ok["content"] = {"application/json": {
                "schema": {"type": "array", "items": schema} if op.many else schema}}
        for status in (op.status, *op.also):
            entry["responses"][str(status)] = ok
        for status in sorted(_statuses(op, bool(params))):
            entry["responses"][str(status)] = {
                "description": "error", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
        paths.setdefault(path, {})[op.method.lower()] = entry
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.route("/openapi.json")
def openapi_json():
    return jsonify(build_spec())
