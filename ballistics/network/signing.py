"""Signed requests between lab nodes and the hub: RFC 9421 HTTP Message Signatures with Ed25519
over the method, path, query and the body's RFC 9530 Content-Digest, with the signature's
``created`` time, a random ``nonce`` and the key id as signature parameters.

Pure: no Flask, no database. The hub decides who a key id belongs to and whether a nonce was
seen (:mod:`.trust`); this module only builds and checks signatures.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

#: what every signature covers
COVERED = ("@method", "@path", "@query", "content-digest")
#: a signature older or newer than this (clock skew included) is refused as stale
MAX_SKEW = timedelta(minutes=5)
LABEL = "ballistics"
#: RFC 9421 application tag: a signature made for this protocol, not reusable elsewhere
TAG = "ballistics-network/v1"


class SignatureRefused(Exception):
    """A request whose signature cannot be accepted; ``code`` says why (stable, for clients)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Message:
    """The parts of an HTTP request the signature covers (what the library reads)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verified:
    key_id: str
    nonce: str
    created: datetime


class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, public: Callable[[str], bytes | None] | None = None,
                 private: Mapping[str, bytes] | None = None):
        self.public, self.private = public, private or {}
        #: a key id nobody registered (the library wraps resolver errors; this keeps the cause)
        self.unknown: str | None = None

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        raw = self.public(key_id) if self.public else None
        if raw is None:
            self.unknown = key_id
            raise HTTPMessageSignaturesException(f"unknown key {key_id!r}")
        return Ed25519PublicKey.from_public_bytes(raw)

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.private[key_id])


def sign(method: str, url: str, body: bytes, *, key_id: str, seed: bytes,
         now: datetime | None = None) -> dict[str, str]:
    """Headers that sign this request: Content-Digest, Signature-Input, Signature."""
    message = Message(method.upper(), url, {})
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=_Keys(private={key_id: seed}))
    signer.sign(message, key_id=key_id, label=LABEL, tag=TAG, created=now or datetime.now(UTC),
                nonce=secrets.token_urlsafe(18), covered_component_ids=COVERED, body=body)
    return dict(message.headers)


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes, *,
           public_key: Callable[[str], bytes | None], now: datetime | None = None) -> Verified:
    """Check a request's signature; return who signed it, or raise :class:`SignatureRefused`.

    Freshness is checked both ways (a ``created`` time in the future is as suspect as an old
    one); replayed nonces are the caller's to refuse, since that needs memory.
    """
    if "signature" not in {k.lower() for k in headers}:
        raise SignatureRefused("unsigned", "The request carries no HTTP message signature.")
    message = Message(method.upper(), url, dict(headers))
    keys = _Keys(public=public_key)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=keys)
    try:
        results = verifier.verify(message, max_age=None, expect_label=LABEL, expect_tag=TAG,
                                  require_components=COVERED, body=body)
    except (HTTPMessageSignaturesException, ValueError) as exc:
        if keys.unknown is not None:
            raise SignatureRefused("unknown_lab", f"No lab is registered at the hub with key "
                                                  f"{keys.unknown!r}.") from exc
        detail = str(exc) or "the signature does not match the request"
        raise SignatureRefused("bad_signature", f"The request signature is not valid: {detail}."
                               ) from exc
    params = results[0].parameters
    key_id, nonce, created = params.get("keyid"), params.get("nonce"), params.get("created")
    if not key_id or not nonce or created is None:
        raise SignatureRefused("bad_signature", "The signature must carry keyid, nonce and "
                                                "created parameters.")
    created_at = datetime.fromtimestamp(int(created), UTC)
    if abs((now or datetime.now(UTC)) - created_at) > MAX_SKEW:
        when = created_at.strftime("%Y-%m-%d %H:%M:%S")
        raise SignatureRefused("stale_request", f"The request was signed at {when} UTC, more "
                               f"than {MAX_SKEW.seconds // 60} minutes from the receiver's clock.")
    return Verified(str(key_id), str(nonce), created_at)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
