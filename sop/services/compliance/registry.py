"""Rule registry: each rule has a stable id, a severity, a plain explanation and a function.

A rule function is pure: ``check(exam, facts) -> Violation | None`` over preloaded facts, so a
whole lab is judged with a handful of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ballistics.core.wording import Wording, english
from sop.models.quality import Severity


@dataclass(frozen=True)
class Violation:
    """What broke, as a sentence a manager reads in their language, and the records behind it."""

    #: the sentence as its message and values (:mod:`ballistics.core.wording`): stored with the
    #: finding so each page says it in its reader's language
    wording: Wording
    evidence: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The sentence in English with ISO days: what the API and the exports for machines give."""
        return english(self.wording)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    #: what the rule requires and why, shown on the dashboard and in the export
    explanation: str
    check: Callable
    #: for blocking rules, the action they stop: "start" or "release"
    stage: str | None = None
    #: HTTP status of the refusal (403 for who-may-do-it, 409 for the state of things)
    refusal_status: int = 409


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, title: str, explanation: str, *,
         stage: str | None = None, refusal_status: int = 409) -> Callable:
    def decorator(fn: Callable) -> Callable:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} declared twice")
        RULES[rule_id] = Rule(rule_id, severity, title, explanation, fn, stage, refusal_status)
        return fn
    return decorator


def all_rules() -> list[Rule]:
    from sop.services.compliance import rules  # noqa: F401  (declares the rules on import)

    return list(RULES.values())
