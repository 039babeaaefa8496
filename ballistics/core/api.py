"""A small API registry: one decorator parses input with a schema, checks the caller, calls the
view, serialises the answer and records the operation for the OpenAPI document.

Views stay thin (parse, call a service, serialise); every answer, good or bad, is JSON.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, g, request
from flask_babel import gettext as _
from marshmallow import Schema

from ballistics.auth import idempotency
from ballistics.core.errors import NotFound, Unauthorized, Unprocessable
from ballistics.core.fields import DB_INT_MAX, text_input

#: deepest JSON nesting a body may have (the deepest schema nests three levels)
MAX_JSON_DEPTH = 32

#: methods that write: their operations honour ``Idempotency-Key`` unless they opt out
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Operation:
    rule: str
    method: str
    summary: str
    tags: list[str]
    body: type[Schema] | None
    form: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    many: bool
    status: int
    public: bool
    endpoint: str = ""
    errors: list[int] = field(default_factory=list)
    #: other success statuses the view may answer, e.g. 200 for a duplicate of a 201
    also: list[int] = field(default_factory=list)
    #: honours the ``Idempotency-Key`` header (:mod:`ballistics.auth.idempotency`)
    idempotent: bool = False


OPERATIONS: list[Operation] = []


_TOO_DEEP = object()


def _json_body() -> dict:
    """The JSON object sent (an empty body is ``{}``), at most MAX_JSON_DEPTH levels deep."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise Unprocessable(_("Send the body as application/json."),
                            fields={"_body": [_("Expected a JSON object.")]})
    try:
        data = json.loads(raw)
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        data = _TOO_DEEP
    except ValueError as exc:  # also undecodable bytes and over-long integer literals
        raise Unprocessable(_("The request body is not valid JSON."),
                            fields={"_body": [_("Expected a JSON object.")]}) from exc
    if data is _TOO_DEEP or _depth_exceeds(data, MAX_JSON_DEPTH):
        raise Unprocessable(_("The request body nests deeper than %(depth)s levels.",
                              depth=MAX_JSON_DEPTH),
                            fields={"_body": [_("At most %(depth)s levels of nesting.",
                                                 depth=MAX_JSON_DEPTH)]})
    if not isinstance(data, dict):
        raise Unprocessable(_("The request body must be a JSON object."),
                            fields={"_body": [_("Expected a JSON object.")]})
    return data


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def check_path_ids(values: dict | None) -> None:
    """A path id beyond the database's range names the parameter (422) rather than overflow
    in the driver; it cannot be a record, so pages answer 404."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > DB_INT_MAX:
            if request.path.startswith("/api/"):
                raise Unprocessable(_("%(name)s is out of range.", name=name),
                                    fields={name: [_("Must be at most %(max)s.",
                                                     max=DB_INT_MAX)]})
            raise NotFound(_("There is no such record."))


def _check_form_body() -> None:
    """Refuse a multipart body that could not be read, saying why (not "missing file")."""
    error = getattr(request, "form_error", None)
    if error:
        raise Unprocessable(error, fields={"file": [error]})
    if request.mimetype != "multipart/form-data":
        raise Unprocessable(_("Send the body as multipart/form-data."),
                            fields={"file": [_("Expected a multipart/form-data body.")]})


def _query(schema: type[Schema] | None) -> dict | None:
    """The query string loaded by ``schema``; any parameter it does not know is refused, as
    are repeated ones (which value would count?)."""
    args = request.args
    repeated = sorted(name for name in args if len(args.getlist(name)) > 1)
    if repeated:
        raise Unprocessable(_("A query parameter is given more than once."),
                            fields={name: [_("Give it once.")] for name in repeated})
    if schema is None:
        if args:
            raise Unprocessable(_("This operation takes no query parameters."),
                                fields={name: [_("Unknown parameter.")] for name in args})
        return None
    with text_input():
        return schema().load(args.to_dict())


class ApiBlueprint(Blueprint):
    """Blueprint whose routes are declared with :meth:`operation`."""

    def operation(self, rule: str, method: str = "GET", *, summary: str, tags: list[str],
                  body: type[Schema] | None = None, form: type[Schema] | None = None,
                  query: type[Schema] | None = None,
                  response: type[Schema] | None = None, many: bool = False, status: int = 200,
                  public: bool = False, errors: tuple[int, ...] = (),
                  also: tuple[int, ...] = (), idempotent: bool | None = None) -> Callable:
        """Declare an operation. ``idempotent`` (default: every operation that writes and
        needs a token) makes it honour the ``Idempotency-Key`` header: a retried request is
        answered from the first one's stored answer instead of writing again. An operation
        whose answer or body holds a secret (a set-password link, a password) opts out: its
        answer would be stored; the header is then ignored, as on a read."""
        if idempotent is None:
            idempotent = method in UNSAFE_METHODS and not public
        if idempotent and public:
            raise ValueError("an Idempotency-Key belongs to a user: a public operation has none")

        def decorator(view: Callable) -> Callable:
            op = Operation(rule=self.url_prefix + rule if self.url_prefix else rule,
                           method=method, summary=summary, tags=tags, body=body, query=query,
                           response=response, many=many, status=status, public=public,
                           errors=list(errors), form=form, also=list(also),
                           idempotent=idempotent)

            # Schemas hold no request state: build them once, not on every call (building one
            # costs about as much as a database round trip).
            body_schema = body() if body is not None else None
            form_schema = form() if form is not None else None
            response_schema = response(many=many) if response is not None else None

            @functools.wraps(view)
            def wrapper(**kwargs):
                if not public and getattr(g, "api_user", None) is None:
                    raise Unauthorized(_("A valid bearer token is required."))
                params = _query(query)
                if query is not None:
                    kwargs["params"] = params
                raw = _json_body() if body_schema is not None else None
                if raw is not None:
                    kwargs["data"] = body_schema.load(raw)
                if form_schema is not None:  # multipart: fields by schema, files by the view
                    _check_form_body()
                    with text_input():
                        kwargs["data"] = form_schema.load(request.form.to_dict())
                # Only with the header: without it a request costs no query more (and one dict
                # lookup: the WSGI environ, not werkzeug's header view, on the benchmarked
                # receive path).
                key = request.environ.get(idempotency.ENVIRON_KEY) if idempotent else None
                claimed = None
                if key is not None:  # after the input checks: a refusal keeps no key anyway
                    claimed = idempotency.claim(g.api_user, idempotency.key_from_header(key),
                                                idempotency.fingerprint(raw))
                    if isinstance(claimed, idempotency.Replay):
                        return idempotency.replay_response(claimed)
                result = view(**kwargs)
                code = status
                if isinstance(result, tuple):  # (object, status) overrides, e.g. 200 for a dup
                    result, code = result
                answer = result if response_schema is None else response_schema.dump(result)
                if claimed is not None:
                    idempotency.record(claimed, code, answer)
                return answer, code

            endpoint = f"{view.__name__}_{method.lower()}"
            self.add_url_rule(rule, endpoint=endpoint, view_func=wrapper, methods=[method])
            op.endpoint = f"{self.name}.{endpoint}"
            OPERATIONS.append(op)
            return wrapper

        return decorator
