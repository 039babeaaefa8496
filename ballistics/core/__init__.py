"""Shared plumbing: errors, time, the marshmallow base, the API registry, hashing."""
