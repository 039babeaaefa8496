"""Time zones for tests of "the lab's day": a zone in which a stored UTC time falls on another
calendar day than in UTC, whatever hour the test runs at."""

from __future__ import annotations

from datetime import date, datetime

import pytz


def local_day(ts: datetime, zone: str) -> date:
    """The calendar day of the naive UTC time ``ts`` in ``zone``."""
    return pytz.utc.localize(ts).astimezone(pytz.timezone(zone)).date()


def zone_on_another_day(ts: datetime) -> tuple[str, date]:
    """(zone, that zone's day of ``ts``), the day differing from ``ts``'s UTC day: UTC+14 from
    10:00 UTC (already tomorrow there), UTC-11 before (still yesterday). Neither zone has
    daylight saving; the hour between 10:00 and 11:00 UTC leaves a margin for records written
    a moment apart."""
    zone = "Pacific/Kiritimati" if ts.hour >= 10 else "Pacific/Pago_Pago"
    day = local_day(ts, zone)
    assert day != ts.date(), (ts, zone, day)
    return zone, day
