"""The ``Idempotency-Key`` request header of the JSON API (IETF draft "The Idempotency-Key HTTP
Header Field"; Stripe's API works the same way).

A script that times out and sends the same write again must not write a second record (two
items received when one was). With the header, an operation that writes is done once per key:

- the same key, caller and request again: the first answer is replayed (status and body, with
  ``Idempotent-Replayed: true``) and nothing is written;
- the same key with another method, path, query or body: 422 naming the header;
- the same key while the first request still runs: the second waits for the first to finish
  (the key's row is claimed first, under a unique index) and then replays its answer;
- a refused first request (any 4xx or 5xx) keeps no key: the refusal rolled back everything,
  the key's row included, so nothing happened and sending it again runs it again (a refusal
  may not hold later, e.g. once a hold is lifted). The draft leaves this open; Stripe keeps
  refusals, but here a refused operation writes nothing, its key included.

Keys belong to one user (of one lab): another user's same key is another key. A key is kept for
``IDEMPOTENCY_KEY_HOURS`` (24 by default), then ignored and deleted by the periodic sweep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ballistics.auth.models import IdempotencyKey, User
from ballistics.core.errors import Conflict, Unprocessable
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db

HEADER = "Idempotency-Key"
#: the header as the WSGI environ names it (PEP 3333)
ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
REPLAYED = "Idempotent-Replayed"
#: Stripe's limit; a UUID (the draft's advice) is 36 characters
MAX_LENGTH = 255


def key_from_header(value: str) -> str:
    """The key sent: 1 to 255 printable ASCII characters, bare (Stripe) or as a structured
    field string in quotes (the draft: ``"8e03978e-..."``)."""
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not key or len(key) > MAX_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise Unprocessable(
            _("The Idempotency-Key header must be 1 to %(max)s printable ASCII characters "
              "(a UUID, for example).", max=MAX_LENGTH),
            fields={HEADER: [_("1 to %(max)s printable ASCII characters.", max=MAX_LENGTH)]})
    return key


def fingerprint(body: dict | None) -> str:
    """What makes two requests "the same": method, path, query string and body, as a SHA-256
    keyed with the app's secret (the body may hold personal data; a bare hash of a short body
    could be guessed). A JSON body counts by its content (``body``, as parsed), not by its
    spacing or key order; a multipart body by its fields and its files' contents (a client
    draws a new boundary on every send)."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), digestmod=hashlib.sha256)
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\0")
    if body is not None:
        digest.update(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False).encode())
    elif request.mimetype == "multipart/form-data":
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"{name}={value}\0".encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            content = hashlib.sha256()
            for chunk in iter(lambda stream=upload.stream: stream.read(1 << 16), b""):
                content.update(chunk)
            upload.stream.seek(0)  # the view reads the file afterwards
            digest.update(f"{name}:{upload.filename}:{content.hexdigest()}\0".encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


@dataclass
class Replay:
    """The stored answer of an earlier request with the same key."""

    status: int
    body: str


def claim(user: User, key: str, print_: str) -> IdempotencyKey | Replay:
    """Claim ``key`` for this request before it writes anything (the row is flushed, so a
    second request with the same key waits on the unique index until this one commits or
    rolls back), or the answer an earlier request with it got.

    Raises 422 if the key was used for another request, 409 if it is taken by a request whose
    answer cannot be read (the key's row vanished between the two looks: retry).
    """
    now, user_id, lab_id = utcnow(), user.id, user.lab_id  # read before any rollback
    found = _lookup(user_id, lab_id, key)
    if found is not None and found.expires_at <= now:
        # Forgotten: a core statement (no row count check), as another request may be deleting
        # it too.
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == found.id))
        found = None
    if found is None:
        row = IdempotencyKey(lab_id=lab_id, user_id=user_id, key=key,
                             fingerprint=print_, created_at=now, expires_at=now + _kept())
        db.session.add(row)
        try:
            db.session.flush()
            return row
        except IntegrityError:
            # Another request claimed it first and has committed (a unique index waits for
            # the other transaction to end). Nothing else is written yet: roll back, read it.
            db.session.rollback()
            found = _lookup(user_id, lab_id, key)
            if found is None:
                raise Conflict(_("Another request with this Idempotency-Key is in progress; "
                                 "send it again in a moment."),
                               fields={HEADER: [_("In use by a request in progress.")]},
                               code="idempotency_key_in_use") from None
    if not hmac.compare_digest(found.fingerprint, print_):
        raise Unprocessable(
            _("This Idempotency-Key was already used for another request (another operation, "
              "record or body); nothing was done. Use a new key for a new request."),
            fields={HEADER: [_("Already used for another request.")]},
            code="idempotency_key_reused")
    if found.status is None:  # committed without its answer: cannot happen (see record())
        raise Conflict(_("Another request with this Idempotency-Key is in progress; "
                         "send it again in a moment."),
                       fields={HEADER: [_("In use by a request in progress.")]},
                       code="idempotency_key_in_use")
    return Replay(found.status, found.body or "")


def record(row: IdempotencyKey, status: int, payload: object) -> None:
    """Keep the answer with the key, in the transaction that wrote the record it describes. An
    answer that is not JSON (none today) releases the key instead of keeping half of it."""
    if isinstance(payload, dict | list):
        row.status, row.body = status, current_app.json.dumps(payload)
    else:
        db.session.delete(row)


def replay_response(replay: Replay):
    response = current_app.response_class(replay.body, status=replay.status,
                                          mimetype="application/json")
    response.headers[REPLAYED] = "true"
    return response


def sweep(now: datetime | None = None) -> int:
    """Delete the keys kept past their time; how many were."""
    result = db.session.execute(delete(IdempotencyKey)
                                .where(IdempotencyKey.expires_at <= (now or utcnow())))
    return result.rowcount or 0


def _kept() -> timedelta:
    return timedelta(hours=current_app.config["IDEMPOTENCY_KEY_HOURS"])


def _lookup(user_id: int, lab_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalars(select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.lab_id == lab_id,
        IdempotencyKey.key == key)).one_or_none()
