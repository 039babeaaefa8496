"""Quality management: SOPs and versions, personnel, equipment, examinations and compliance."""

from ballistics.core.domains import conventional

init_app = conventional(__name__)
