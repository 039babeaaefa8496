"""Who may do what in the comparison workflow."""

from ballistics.auth.roles import Role
from ballistics.evidence.permissions import HOLD_EVIDENCE

#: upload scans of evidence and search them (the people who handle the evidence)
SCAN_AND_SEARCH = HOLD_EVIDENCE
#: mark candidates and confirm leads at the microscope (firearms examiners; reviewers are
#: examiners too)
REVIEW_CANDIDATES = frozenset({Role.EXAMINER, Role.TECHNICAL_REVIEWER})
#: verify another examiner's confirmation, decide a correction of a case link
VERIFY_CONFIRMATIONS = frozenset({Role.TECHNICAL_REVIEWER})
#: ask for a case link to be withdrawn (decided by an independent technical reviewer)
REQUEST_CORRECTIONS = frozenset({Role.EXAMINER, Role.TECHNICAL_REVIEWER, Role.LAB_MANAGER})
#: choose the hit-confirmation SOP and blind verification
CONFIGURE_COMPARISONS = frozenset({Role.LAB_MANAGER})
