"""Who may do what in the regional network."""

from ballistics.auth.roles import Role

#: decide what the lab shares, exclude cases, withdraw records, see who looked at our data
MANAGE_SHARING = frozenset({Role.LAB_MANAGER})
#: the hub's dashboard (the hub's own staff)
OPERATE_HUB = frozenset({Role.ADMIN, Role.LAB_MANAGER})
