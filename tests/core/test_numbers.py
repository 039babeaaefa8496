"""Numbers in the reader's language: Spanish groups only from five integer digits (CLDR's
minimum grouping digits, the RAE's rule: 4465 but 44.650), English from four (4,465); the
count of digits is taken after rounding."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from ballistics.core.numbers import MISSING, number, percent, significant


@pytest.fixture(scope="module")
def request_context():
    """A request of a bare Flask app with Flask-Babel (numbers need a locale, no database)."""
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield


@pytest.mark.parametrize(("locale", "value", "digits", "written"), [
    ("es", 999, None, "999"),
    ("es", 4465, None, "4465"),
    ("es", -4465, None, "-4465"),
    ("es", 4465.5, None, "4465,5"),
    ("es", 4465.25, 2, "4465,25"),
    ("es", 12345, None, "12.345"),
    ("es", 1234567, None, "1.234.567"),
    ("es", -12345.5, 1, "-12.345,5"),
    ("es", 9999.6, 0, "10.000"),  # rounded to five digits: grouped
    ("es", 9999.4, 0, "9999"),
    ("en", 4465, None, "4,465"),
    ("en", 999, None, "999"),
    ("en", 9999.6, 0, "10,000"),
    ("en", 12345.5, 1, "12,345.5"),
])
def test_grouping_follows_the_language(request_context, locale, value, digits, written):
    with force_locale(locale):
        assert number(value, digits) == written


def test_significant_digits_and_percentages_follow_it_too(request_context):
    with force_locale("es"):
        assert significant(0.0001234) == "0,000123"
        # the percent sign after a no-break space, as CLDR writes Spanish percentages
        assert percent(0.931, 1) == "93,1\xa0%"
        assert percent(12.5) == "1250\xa0%"
        assert percent(123.45) == "12.345\xa0%"
        assert number(None) == significant(None) == percent(None) == MISSING
    with force_locale("en"):
        assert percent(12.5) == "1,250%"
