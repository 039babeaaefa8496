"""UTC time: every ``*_at`` column holds UTC, and hashes use one canonical text form."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current UTC time, naive, truncated to microseconds as both databases store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def canonical(ts: datetime) -> str:
    """Text form of a UTC timestamp used inside hashes (stable across database round trips)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_utc(ts: datetime | None) -> str:
    """ISO 8601 with the offset (``+00:00``) for a naive UTC timestamp; "" for None. For text
    that leaves the app (CSV), where a reader must not guess the zone."""
    if ts is None:
        return ""
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)).isoformat()
