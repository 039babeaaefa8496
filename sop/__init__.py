"""Quality management: SOPs and versions, personnel, equipment, examinations and compliance."""
