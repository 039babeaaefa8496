"""Who may manage accounts, and which roles each may grant (least privilege)."""

from __future__ import annotations

from ballistics.auth.roles import Role

#: see the lab's accounts and tokens, add users, reset passwords, deactivate, change roles
MANAGE_ACCOUNTS = frozenset({Role.LAB_MANAGER, Role.ADMIN})

#: the lab's own settings (its time zone, in which every page shows times)
MANAGE_LAB_SETTINGS = frozenset({Role.LAB_MANAGER})

#: the roles each role may grant. A manager runs the bench staff but cannot make a manager or
#: an admin (no one raises anyone, themselves included, above their own standing); the admin,
#: who manages accounts and not evidence, may grant every role. A user may manage an account
#: only if every role it holds is one they may grant, so a manager cannot reset an admin's
#: password and take the account over.
GRANTS: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.LAB_MANAGER: frozenset({Role.EVIDENCE_TECHNICIAN, Role.EXAMINER,
                                 Role.TECHNICAL_REVIEWER}),
}


def grantable(roles: frozenset[Role]) -> frozenset[Role]:
    """The roles a holder of ``roles`` may grant."""
    return frozenset().union(*(GRANTS.get(r, frozenset()) for r in roles))
