"""Lab factories: a fresh lab per test keeps tests independent on a shared database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ballistics.auth import services as accounts
from ballistics.auth.models import Lab, User
from ballistics.auth.roles import Role
from ballistics.core.context import acting_as
from ballistics.extensions import db

PASSWORD = "correct horse battery staple"


@dataclass
class LabKit:
    """A fresh lab with one user per role and bearer tokens for each."""

    lab: Lab
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)
    location_id: int | None = None

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def id(self, who: str) -> int:
        return self.users[who].id


ROLES = {
    "tech": [Role.EVIDENCE_TECHNICIAN],
    "examiner": [Role.EXAMINER],
    "examiner2": [Role.EXAMINER],
    "reviewer": [Role.EXAMINER, Role.TECHNICAL_REVIEWER],
    "manager": [Role.LAB_MANAGER],
    "admin": [Role.ADMIN],
}


def make_lab(extra_users: int = 0, code: str | None = None) -> LabKit:
    """Create a lab (``code``, or a random one), its users (``extra_users`` more examiners),
    tokens and a storage location.

    Needs an app context; commits."""
    from ballistics.evidence.services import create_location

    code = code or "L" + uuid.uuid4().hex[:8].upper()
    roles = dict(ROLES)
    roles.update({f"extra{i}": [Role.EXAMINER] for i in range(extra_users)})
    with acting_as(None, None, "test"):
        lab = accounts.create_lab(code, f"Lab {code}")
        users = {}
        for who, user_roles in roles.items():
            users[who] = accounts.create_user(lab, f"{who}-{code.lower()}", who.title(),
                                              PASSWORD, user_roles)
        kit = LabKit(lab, users)
        kit.tokens = {who: accounts.issue_token(u, "test") for who, u in users.items()}
    with acting_as(users["manager"].id, lab.id, "test"):
        kit.location_id = create_location(users["manager"], code="SHELF-1", name="Shelf 1").id
    db.session.commit()
    return kit
