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
        return f"Use at least {MIN_LENGTH} characters (a few unrelated words work well)."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    words = [w for w in context if w]
    result = zxcvbn(password[:_CHECKED], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"].get("warning") or "This password is easy to guess."
    return f"{warning.rstrip('.')}. Choose something less common (a few unrelated words)."
