"""UTC time: every ``*_at`` column holds UTC, and hashes use one canonical text form."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytz


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


def local_today(zone: str) -> date:
    """Today's date in ``zone`` (a lab's time zone name): at 20:00 in America/Bogota it is
    still today there, though already tomorrow in UTC."""
    return local_day(utcnow(), zone)


def local_day(ts: datetime, zone: str) -> date:
    """The calendar day in ``zone`` of the naive UTC time ``ts`` (an approval at 01:00 UTC on
    the 3rd was on the 2nd in America/Bogota)."""
    return ts.replace(tzinfo=UTC).astimezone(pytz.timezone(zone)).date()


def day_start_utc(day: date, zone: str) -> datetime:
    """The naive UTC instant at which ``day`` begins in ``zone`` (a lab's time zone name).

    A day picked in a page's filter is the lab's day: in America/Bogota (UTC-5) the 2nd of
    March runs from 05:00 UTC on the 2nd to 05:00 UTC on the 3rd. Where a zone skips its
    midnight (daylight saving starting at 00:00), the day begins at the first hour it has."""
    tz = pytz.timezone(zone)
    local = tz.normalize(tz.localize(datetime.combine(day, time()), is_dst=False))
    return local.astimezone(pytz.utc).replace(tzinfo=None)


def day_range_utc(start: date | None, end: date | None,
                  zone: str) -> tuple[datetime | None, datetime | None]:
    """Whole days ``start`` to ``end`` (both included, either may be None) in ``zone`` as a
    half-open naive UTC range ``[from, to)`` for a query on a stored ``*_at`` column."""
    return (day_start_utc(start, zone) if start else None,
            day_start_utc(end + timedelta(days=1), zone) if end else None)
