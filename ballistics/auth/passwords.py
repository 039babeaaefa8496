"""The password policy, applied wherever a password is set (pages, API, command line).

At least 12 characters (NIST SP 800-63B asks for 8 and recommends longer; 12 is OWASP ASVS
5.0's floor) and not guessable: zxcvbn (Dropbox's estimator, the PyPI ``zxcvbn`` port) scores
it against its bundled lists of common passwords, English words, names and keyboard patterns,
and against the account's own username, name and lab, without any network call. A score below
3 ("safely unguessable" for an online attack with slow hashing) is refused with zxcvbn's reason.
We chose it over a bundled list of common passwords because it also catches the variations a
list misses (``Password2026!``, ``qwertyuiop12``, the lab's code plus a year).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from ballistics.core.errors import Unprocessable

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 3
#: zxcvbn's cost grows with the length; past this many characters a password is long enough
#: that its first part decides (zxcvbn refuses longer input itself)
_CHECKED = 72


def check(password: str, *, field: str = "password", context: Iterable[str] = ()) -> None:
    """Refuse a password that breaks the policy, naming ``field`` and the reason (422)."""
    reason = problem(password, context=context)
    if reason:
        raise Unprocessable(_("The new password is refused: %(reason)s", reason=reason),
                            fields={field: [reason]})


def problem(password: str, *, context: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused, or None."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)s characters (a few unrelated words work well).",
                 n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(n)s characters.", n=MAX_LENGTH)
    words = [w for w in context if w]
    result = zxcvbn(password[:_CHECKED], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"].get("warning") or ""
    # zxcvbn says why in English: its few sentences are said again through the catalogue (one
    # it adds later reads as the generic reason rather than English in a Spanish answer).
    said = _WARNINGS.get(warning, _WARNINGS[""])
    return _("%(warning)s Choose something less common (a few unrelated words).",
             warning=str(said))


#: zxcvbn's warnings (zxcvbn/feedback.py, 4.5), each through the catalogue
_WARNINGS = {
    "": _l("This password is easy to guess."),
    "Straight rows of keys are easy to guess.": _l("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.":
        _l("Short keyboard patterns are easy to guess."),
    'Repeats like "aaa" are easy to guess.': _l('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        _l('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    'Sequences like "abc" or "6543" are easy to guess.':
        _l('Sequences like "abc" or "6543" are easy to guess.'),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are often easy to guess."),
    "This is a top-10 common password.": _l("This is a top-10 common password."),
    "This is a top-100 common password.": _l("This is a top-100 common password."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.":
        _l("This is similar to a commonly used password."),
    "A word by itself is easy to guess.": _l("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.":
        _l("Names and surnames by themselves are easy to guess."),
    "Common names and surnames are easy to guess.":
        _l("Common names and surnames are easy to guess."),
}
