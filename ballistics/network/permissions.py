"""Who may do what in the regional network."""

from ballistics.auth.roles import Role

#: decide what the lab shares, exclude cases, withdraw records, see who looked at our data
MANAGE_SHARING = frozenset({Role.LAB_MANAGER})
#: the hub's dashboard (the hub's own staff)
OPERATE_HUB = frozenset({Role.ADMIN, Role.LAB_MANAGER})
#: export a shared scan as an x3p file for a partner (examiners exchange scans; the manager
#: decides sharing). Technicians and the administrator do not send case material out.
EXPORT_SCANS = frozenset({Role.EXAMINER, Role.TECHNICAL_REVIEWER, Role.LAB_MANAGER})
#: import an x3p scanned by another system as a reference (whoever uploads scans)
IMPORT_REFERENCES = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER,
                               Role.TECHNICAL_REVIEWER, Role.LAB_MANAGER})
#: send an exhibit (cartridge case, cast) to a partner lab: its holder releases it, as any
#: release (the custody rules decide who may)
SEND_EXHIBITS = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER, Role.TECHNICAL_REVIEWER,
                           Role.LAB_MANAGER})
#: record the receipt of a partner's exhibit (who receives evidence)
RECEIVE_EXHIBITS = frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER, Role.LAB_MANAGER})
