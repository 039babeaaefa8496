"""Who may read the audit log (least privilege: the quality role, in its own lab only)."""

from ballistics.auth.roles import Role

#: read and export the lab's audit log and see its verification state. The admin manages
#: accounts, not quality records; examiners are the people the log is about.
READ_AUDIT = frozenset({Role.LAB_MANAGER})
