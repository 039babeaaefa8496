"""A small API registry: one decorator parses input with a schema, checks the caller, calls the
view, serialises the answer and records the operation for the OpenAPI document.

Views stay thin (parse, call a service, serialise); every answer, good or bad, is JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, g, request
from marshmallow import Schema

from ballistics.core.errors import Unauthorized, Unprocessable


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


OPERATIONS: list[Operation] = []


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        if request.content_length:
            raise Unprocessable("The request body is not valid JSON.", fields={"_body": [
                "Expected a JSON object."]})
        data = {}
    if not isinstance(data, dict):
        raise Unprocessable("The request body must be a JSON object.",
                            fields={"_body": ["Expected a JSON object."]})
    return data


class ApiBlueprint(Blueprint):
    """Blueprint whose routes are declared with :meth:`operation`."""

    def operation(self, rule: str, method: str = "GET", *, summary: str, tags: list[str],
                  body: type[Schema] | None = None, form: type[Schema] | None = None,
                  query: type[Schema] | None = None,
                  response: type[Schema] | None = None, many: bool = False, status: int = 200,
                  public: bool = False, errors: tuple[int, ...] = ()) -> Callable:
        def decorator(view: Callable) -> Callable:
            op = Operation(rule=self.url_prefix + rule if self.url_prefix else rule,
                           method=method, summary=summary, tags=tags, body=body, query=query,
                           response=response, many=many, status=status, public=public,
                           errors=list(errors), form=form)

            @functools.wraps(view)
            def wrapper(**kwargs):
                if not public and getattr(g, "api_user", None) is None:
                    raise Unauthorized("A valid bearer token is required.")
                if body is not None:
                    kwargs["data"] = body().load(_json_body())
                if form is not None:  # multipart: fields by schema, files by the view
                    kwargs["data"] = form().load(request.form.to_dict())
                if query is not None:
                    kwargs["params"] = query().load(request.args.to_dict())
                result = view(**kwargs)
                code = status
                if isinstance(result, tuple):  # (object, status) overrides, e.g. 200 for a dup
                    result, code = result
                if response is None:
                    return result, code
                return response(many=many).dump(result), code

            endpoint = f"{view.__name__}_{method.lower()}"
            self.add_url_rule(rule, endpoint=endpoint, view_func=wrapper, methods=[method])
            op.endpoint = f"{self.name}.{endpoint}"
            OPERATIONS.append(op)
            return wrapper

        return decorator
