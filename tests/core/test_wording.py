"""A sentence stored now and read later: the English kept for machines, the same sentence in
the reader's language on pages (clauses, days and codes translated too), and plain JSON."""

from __future__ import annotations

import json
from datetime import date

import pytest
from flask_babel import force_locale

from ballistics.core.wording import coded, counted, english, figure, said, wording


@pytest.fixture
def reading(sqlite_app):
    with sqlite_app.test_request_context():
        yield


def _failed(day: date) -> dict:
    return wording("taken out of service (%(reason)s)",
                   reason=wording("failed its calibration on %(day)s", day=day))


def test_english_is_the_message_with_iso_days_whatever_the_reader(reading):
    w = _failed(date(2026, 3, 2))
    with force_locale("es"):
        assert english(w) == "taken out of service (failed its calibration on 2026-03-02)"


def test_said_translates_the_sentence_its_clauses_and_its_days(reading):
    w = _failed(date(2026, 3, 2))
    with force_locale("es"):
        assert said(w) == "retirado de servicio (no superó su calibración del 2 mar 2026)"
    with force_locale("en"):
        assert said(w) == "taken out of service (failed its calibration on Mar 2, 2026)"


def test_a_count_is_singular_or_plural_as_the_readers_language_counts(reading):
    """The turnaround finding: "target 1 days" read as a count ("1 day", "1 día")."""
    def days(n):
        return counted(n, "%(num)s day", "%(num)s days")

    w = wording("Released %(days)s after the request (target %(target)s).", days=days(2),
                target=days(1))
    assert english(w) == "Released 2 days after the request (target 1 day)."
    assert english(json.loads(json.dumps(w))) == english(w)
    with force_locale("es"):
        assert said(w) == "Emitido 2 días después de la solicitud (plazo: 1 día)."
        assert english(w) == "Released 2 days after the request (target 1 day)."
    with force_locale("en"):
        assert said(w) == english(w)


def test_codes_read_through_their_labels(reading):
    w = wording("taken out of service (%(reason)s)", reason=coded("cartridge_case"))
    assert english(w) == "taken out of service (cartridge case)"
    with force_locale("es"):
        assert said(w) == "retirado de servicio (vaina)"


def test_a_wording_is_plain_json_and_reads_the_same_after_a_round_trip(reading):
    w = _failed(date(2026, 3, 2))
    again = json.loads(json.dumps(w))
    assert again == w
    with force_locale("es"):
        assert said(again) == said(w)


def test_a_missing_value_reads_as_a_dash(reading):
    w = wording("taken out of service (%(reason)s)", reason=None)
    assert english(w) == "taken out of service (—)"


@pytest.mark.parametrize(("value", "spec", "en", "es"), [
    (0.8437, ".3g", "0.844", "0,844"), (3.125, "g", "3.125", "3,125"), (12.5, "g", "12.5", "12,5"),
    (161.6, ".0f", "162", "162"), (0.5, ".2f", "0.50", "0,50"),
])
def test_figures_are_written_in_the_readers_locale(reading, value, spec, en, es):
    w = wording("taken out of service (%(reason)s)", reason=figure(value, spec))
    assert english(w) == f"taken out of service ({en})"
    with force_locale("es"):
        assert said(w) == f"retirado de servicio ({es})"


@pytest.mark.parametrize("spec", ["", "f", "d", ".3e", "3g", ".xg"])
def test_a_format_without_a_locale_form_is_refused(spec):
    with pytest.raises(ValueError, match="no locale form"):
        figure(1.0, spec)


def test_a_moment_is_utc_named_in_english_and_the_labs_time_on_pages(reading):
    from datetime import datetime

    w = wording("taken out of service (%(reason)s)", reason=datetime(2026, 3, 2, 14, 5))
    assert english(w) == "taken out of service (2026-03-02 14:05 UTC)"
    with force_locale("es"):
        assert said(w) == "retirado de servicio (2/3/26, 14:05 UTC)"
