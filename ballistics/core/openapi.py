"""The OpenAPI 3 document, built from the operations the API blueprints declared."""

from __future__ import annotations

import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify

from ballistics.core.api import OPERATIONS

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "message", "fields"],
    "properties": {
        "error": {"type": "string", "description": "stable error code"},
        "message": {"type": "string", "description": "what went wrong, for a person"},
        "fields": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}}},
    },
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(match: re.Match) -> str:
        conv, name = match.group(1), match.group(2)
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if conv == "int" else "string"}})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", repl, rule), params


@cache
def build_spec() -> dict:
    spec = APISpec(title="ballistics API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Evidence, chain of custody, comparisons and quality "
                                        "records of a firearms laboratory."})
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path, params = _path(op.rule)
        entry: dict = {"summary": op.summary, "tags": op.tags, "operationId": op.endpoint,
                       "parameters": params, "responses": {}}
        if not op.public:
            entry["security"] = [{"bearer": []}]
        if op.query is not None:
            entry["parameters"] += [{"in": "query", "schema": op.query}]
        if op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": op.body}}}
        if op.form is not None:
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {
                "schema": {"allOf": [op.form, {"type": "object", "required": ["file"],
                           "properties": {"file": {"type": "string", "format": "binary"}}}]}}}}
        ok: dict = {"description": "success"}
        if op.response is not None:
            schema = op.response
            ok["content"] = {"application/json": {
                "schema": {"type": "array", "items": schema} if op.many else schema}}
        entry["responses"][str(op.status)] = ok
        for status in sorted({*op.errors, *(() if op.public else (401,))}):
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
