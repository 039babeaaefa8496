"""Append-only, hash-chained audit log of every write and every cross-lab read."""
