"""Roles and what each may do. Least privilege: a role gets only what its work needs."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    EVIDENCE_TECHNICIAN = "evidence_technician"
    EXAMINER = "examiner"
    TECHNICAL_REVIEWER = "technical_reviewer"
    LAB_MANAGER = "lab_manager"
    ADMIN = "admin"


# Who may hold, receive and hand over evidence. The admin manages accounts, not evidence.
CUSTODY_ROLES = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER, Role.TECHNICAL_REVIEWER,
                           Role.LAB_MANAGER})
# Who may open cases and receive submissions.
INTAKE_ROLES = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER, Role.LAB_MANAGER})
# Who may move an item they do not hold (e.g. an examiner who is away) and manage storage.
OVERRIDE_ROLES = frozenset({Role.LAB_MANAGER})
ACCOUNT_ROLES = frozenset({Role.ADMIN, Role.LAB_MANAGER})
