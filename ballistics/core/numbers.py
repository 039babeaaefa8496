"""Numbers as the reader writes them: the page's locale decides the grouping and the decimal
sign (4,465.5 and 93.1% in English, 4.465,5 and 93,1 % in Spanish), through Babel.

Only for what a person reads. JSON, CSV, form values and attributes a program reads (SVG
coordinates, ``data-*``) keep plain digits, so machines never parse a locale.
"""

from __future__ import annotations

import copy

from babel import Locale
from babel.numbers import NumberPattern
from flask_babel import format_decimal, get_locale

#: what a page shows for a figure that does not exist (no data, not applicable)
MISSING = "—"


def _fixed(pattern: NumberPattern, digits: int) -> NumberPattern:
    """The locale's own pattern with exactly ``digits`` decimals."""
    fixed = copy.copy(pattern)
    fixed.frac_prec = (digits, digits)
    return fixed


def number(value: float | None, digits: int | None = None) -> str:
    """A count, score or measurement in the page's locale. ``digits``: exactly that many
    decimals (a score to 2, a correlation to 3); without it as the locale writes the value
    (integers whole, fractions to at most 3 decimals)."""
    if value is None:
        return MISSING
    if digits is None:
        return format_decimal(value)
    locale = get_locale() or Locale.parse("en")
    return format_decimal(value, format=_fixed(locale.decimal_formats[None], digits))


def significant(value: float | None, digits: int = 3) -> str:
    """``value`` to at most ``digits`` significant digits (Python's ``:.3g`` in the reader's
    locale), for figures that span orders of magnitude such as likelihood ratios."""
    if value is None:
        return MISSING
    return format_decimal(value, format="@" + "#" * (digits - 1))


def percent(ratio: float | None, digits: int = 0) -> str:
    """A ratio (0.9312) as a percentage with ``digits`` decimals in the locale's own pattern
    (93.1% in English, 93,1 % in Spanish)."""
    if ratio is None:
        return MISSING
    locale = get_locale() or Locale.parse("en")
    return _fixed(locale.percent_formats[None], digits).apply(ratio, locale)
