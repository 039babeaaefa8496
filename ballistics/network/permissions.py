"""Who may do what in the regional network."""

from ballistics.auth.roles import Role

#: decide what the lab shares, exclude cases, withdraw records, see who looked at our data
MANAGE_SHARING = frozenset({Role.LAB_MANAGER})
