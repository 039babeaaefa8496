"""Who may do what in the comparison workflow."""

from ballistics.auth.roles import Role
from ballistics.evidence.permissions import HOLD_EVIDENCE

#: upload scans of evidence and search them (the people who handle the evidence)
SCAN_AND_SEARCH = HOLD_EVIDENCE
#: mark candidates and confirm leads (firearms examiners; reviewers are examiners too)
REVIEW_CANDIDATES = frozenset({Role.EXAMINER, Role.TECHNICAL_REVIEWER})
