"""Application errors and the one error body every API answer uses.

``{"error": code, "message": text, "fields": {field: [messages]}}``
"""

from __future__ import annotations


class AppError(Exception):
    """An expected refusal: carries an HTTP status, a stable code and a readable message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class Unprocessable(AppError):
    status, code = 422, "validation_error"


class Unavailable(AppError):
    """A service this answer depends on (e.g. the regional hub) cannot be asked now: nothing
    was done; the same request may succeed later."""

    status, code = 503, "unavailable"


class AppendOnlyViolation(RuntimeError):
    """Raised when code tries to change or delete a row of an append-only table."""
