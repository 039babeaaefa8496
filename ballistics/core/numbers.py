"""Numbers as the reader writes them: the page's locale decides the grouping and the decimal
sign (4,465.5 and 93.1% in English, 4465,5, 44.650 and 93,1 % in Spanish), through Babel.

Only for what a person reads. JSON, CSV, form values and attributes a program reads (SVG
coordinates, ``data-*``) keep plain digits, so machines never parse a locale.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from babel import Locale
from babel.numbers import NumberPattern, format_decimal, get_decimal_symbol
from flask_babel import get_locale

#: what a page shows for a figure that does not exist (no data, not applicable)
MISSING = "—"

#: CLDR's minimumGroupingDigits of the app's languages where it is not 1: a number is grouped
#: only when this many digits would stand before its first separator. Spanish writes 4465 but
#: 44.650 (CLDR, and the RAE's Ortografia 2010); so do browsers' Intl.NumberFormat. Babel
#: (2.19) carries neither the value nor the rule, so both live here.
_MIN_GROUPING_DIGITS = {"es": 2}
#: digits in a group (3 in both languages; Babel's patterns carry it, this rule needs it too)
_GROUP_SIZE = 3


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


def _grouped_as_the_locale_does(render: Callable[[bool], str], locale: Locale) -> str:
    """``render(group_separator)`` with grouping only where the locale's minimum grouping digits
    allow it: the integer digits are counted after rounding (9999,6 to no decimals is 10.000)."""
    minimum = _MIN_GROUPING_DIGITS.get(locale.language, 1)
    if minimum == 1:
        return render(True)
    plain = render(False)
    integer = plain.split(get_decimal_symbol(locale), 1)[0]
    if sum(c.isdigit() for c in integer) < _GROUP_SIZE + minimum:
        return plain
    return render(True)


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
    locale = _locale()
    form = None if digits is None else _fixed(locale.decimal_formats[None], digits)
    return _grouped_as_the_locale_does(
        lambda group: format_decimal(value, form, locale, group_separator=group), locale)


def significant(value: float | None, digits: int = 3) -> str:
    """``value`` to at most ``digits`` significant digits (Python's ``:.3g`` in the reader's
    locale), for figures that span orders of magnitude such as likelihood ratios."""
    if value is None:
        return MISSING
    form, locale = "@" + "#" * (digits - 1), _locale()
    return _grouped_as_the_locale_does(
        lambda group: format_decimal(value, form, locale, group_separator=group), locale)


def percent(ratio: float | None, digits: int = 0) -> str:
    """A ratio (0.9312) as a percentage with ``digits`` decimals in the locale's own pattern
    (93.1% in English, 93,1 % in Spanish)."""
    if ratio is None:
        return MISSING
    locale = _locale()
    pattern = _fixed(locale.percent_formats[None], digits)
    return _grouped_as_the_locale_does(
        lambda group: pattern.apply(ratio, locale, group_separator=group), locale)
