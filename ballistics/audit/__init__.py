"""Append-only, hash-chained audit log of every write and every cross-lab read."""

from flask import Flask


def init_app(app: Flask) -> None:
    from ballistics.core.domains import install

    install(app, __name__)
    import ballistics.audit.services  # noqa: F401 - its session listeners record every write
