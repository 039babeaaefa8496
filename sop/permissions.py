"""Who may do what in quality management (least privilege)."""

from ballistics.auth.roles import Role

#: write SOPs and versions, personnel records, equipment, nonconformities
MANAGE_QUALITY = frozenset({Role.LAB_MANAGER})
#: start and record examinations (casework)
PERFORM_EXAMINATIONS = frozenset({Role.EXAMINER})
#: technical review of another examiner's work
REVIEW_TECHNICALLY = frozenset({Role.TECHNICAL_REVIEWER})
#: administrative review (completeness, editorial) and the supervisor's competency rating
SUPERVISE = frozenset({Role.LAB_MANAGER, Role.TECHNICAL_REVIEWER})
#: release the report once both reviews are in
RELEASE_REPORTS = frozenset({Role.LAB_MANAGER, Role.EXAMINER})
#: read-and-acknowledge SOPs, self-assess competency
ACKNOWLEDGE_SOPS = frozenset({Role.EXAMINER, Role.TECHNICAL_REVIEWER, Role.LAB_MANAGER,
                              Role.EVIDENCE_TECHNICIAN})
#: record a complaint and keep the complainant informed (whoever the complainant reached)
RECORD_COMPLAINTS = ACKNOWLEDGE_SOPS
