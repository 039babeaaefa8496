"""Who may do what with evidence (least privilege: a role gets only what its work needs)."""

from ballistics.auth.roles import Role

#: hold, receive and hand over evidence. The admin manages accounts, not evidence.
HOLD_EVIDENCE = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER, Role.TECHNICAL_REVIEWER,
                           Role.LAB_MANAGER})
#: open cases and receive submissions
RECEIVE_EVIDENCE = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER, Role.LAB_MANAGER})
#: move an item someone else holds (e.g. an examiner who is away) and manage storage
OVERRIDE_CUSTODY = frozenset({Role.LAB_MANAGER})
