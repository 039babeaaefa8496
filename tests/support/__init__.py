"""Test support: servers and databases, lab factories, clients. Fixtures live in conftest.py
files and use these; tests import from here, never from a conftest."""
