"""Who may do what in quality management (least privilege)."""

from ballistics.auth.roles import Role

#: write SOPs and versions, personnel records, equipment, nonconformities
MANAGERS = frozenset({Role.LAB_MANAGER})
#: start and record examinations (casework)
EXAMINERS = frozenset({Role.EXAMINER})
#: technical review of another examiner's work
TECHNICAL_REVIEWERS = frozenset({Role.TECHNICAL_REVIEWER})
#: administrative review (completeness, editorial) and the supervisor's competency rating
SUPERVISORS = frozenset({Role.LAB_MANAGER, Role.TECHNICAL_REVIEWER})
#: release the report once both reviews are in
RELEASERS = frozenset({Role.LAB_MANAGER, Role.EXAMINER})
#: read-and-acknowledge SOPs, self-assess competency
STAFF = frozenset({Role.EXAMINER, Role.TECHNICAL_REVIEWER, Role.LAB_MANAGER,
                   Role.EVIDENCE_TECHNICIAN})
