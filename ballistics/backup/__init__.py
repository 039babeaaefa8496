"""Backups a court can check: the database, the scans and a manifest of SHA-256s, made while
the lab works, verified, and restored only into an empty installation (``flask backup``)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from ballistics.core.domains import install

    install(app, __name__)
