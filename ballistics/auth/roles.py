"""Roles and what each may do. Least privilege: a role gets only what its work needs."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    EVIDENCE_TECHNICIAN = "evidence_technician"
    EXAMINER = "examiner"
    TECHNICAL_REVIEWER = "technical_reviewer"
    LAB_MANAGER = "lab_manager"
    ADMIN = "admin"

