"""Labs, users, roles, API tokens, login and permission checks."""
