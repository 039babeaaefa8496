"""Who is calling the hub: every request from a lab node is signed (:mod:`.signing`); the hub
accepts it only from a registered, active member, with a current key, a fresh timestamp and a
nonce it has not seen. Refusals answer 401/403 with a stable code and store nothing."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ballistics.core.errors import Forbidden, Unauthorized
from ballistics.core.timeutil import utcnow
from ballistics.extensions import db
from ballistics.network import signing
from ballistics.network.models import HubMember, HubMemberKey, MemberStatus, SeenNonce


def _current_key(key_id: str) -> HubMemberKey | None:
    return db.session.scalar(select(HubMemberKey).where(HubMemberKey.key_id == key_id))


def authenticate() -> HubMember:
    """The member that signed the current request, or a refusal (nothing written)."""
    retired: list[str] = []

    def public_key(key_id: str) -> bytes | None:
        key = _current_key(key_id)
        if key is not None and key.retired_at is not None:
            retired.append(key_id)
            return None
        return key.public_key if key is not None else None

    try:
        verified = signing.verify(request.method, request.url, dict(request.headers),
                                  request.get_data(cache=True), public_key=public_key)
    except signing.SignatureRefused as exc:
        if retired:
            raise Unauthorized(f"Key {retired[0]} was retired by a key rotation; sign with the "
                               "lab's current key.", code="retired_key") from exc
        raise Unauthorized(exc.message, code=exc.code) from exc
    member = _current_key(verified.key_id).member
    if member.status == MemberStatus.REVOKED:
        raise Forbidden(f"Lab {member.code} was revoked by the hub administrator"
                        f"{': ' + member.revoked_reason if member.revoked_reason else ''}.",
                        code="revoked_lab")
    try:
        with db.session.begin_nested():
            db.session.add(SeenNonce(key_id=verified.key_id, nonce=verified.nonce))
    except IntegrityError as exc:
        raise Unauthorized("This request was already received (its nonce was seen); a replay "
                           "is refused.", code="replayed_nonce") from exc
    return member


def forget_old_nonces() -> int:
    """Nonces older than the freshness window can go: a request that old is refused as stale."""
    cutoff = utcnow() - 2 * signing.MAX_SKEW - timedelta(minutes=1)
    return db.session.execute(delete(SeenNonce).where(SeenNonce.seen_at < cutoff)).rowcount
