"""The domain contract: every domain package wires itself into the app the same way.

A domain is a package (``ballistics.evidence``, ``sop``, ...) whose ``__init__`` offers
``init_app(app)``. :func:`install` does the common part, by convention over these modules (each
optional, looked up by name so a domain has only what it needs):

``models``       imported, so the metadata (and the migrations) see its tables and its session
                 listeners are active
``api``          ``bp``: the JSON API blueprint, exempt from CSRF (bearer tokens only)
``views``        ``bp``: the page blueprint
``cli``          ``cli``: a click command or group added to ``flask``
``tasks``        imported by the Celery workers; ``BEAT_SCHEDULE`` merged into celery beat's
``permissions``  the domain's role sets, named for what they allow

``schemas``, ``services`` and ``forms`` are imported by the modules above as they need them.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType

from flask import Flask

from ballistics.extensions import csrf

#: modules a domain may have, in the order they are wired
CONTRACT = ("models", "permissions", "api", "views", "cli", "tasks")


def submodule(package: str, name: str) -> ModuleType | None:
    """``package.name`` if the domain has it."""
    if importlib.util.find_spec(f"{package}.{name}") is None:
        return None
    return importlib.import_module(f"{package}.{name}")


def install(app: Flask, package: str) -> None:
    """Wire one domain package into ``app`` by the convention above."""
    submodule(package, "models")
    api = submodule(package, "api")
    if api is not None:
        csrf.exempt(api.bp)
        app.register_blueprint(api.bp)
    views = submodule(package, "views")
    if views is not None:
        app.register_blueprint(views.bp)
    cli = submodule(package, "cli")
    if cli is not None:
        app.cli.add_command(cli.cli)
    tasks = submodule(package, "tasks")
    if tasks is not None:
        celery = app.extensions["celery"]
        celery.conf.imports = (*celery.conf.imports, tasks.__name__)
        celery.conf.beat_schedule = {**celery.conf.beat_schedule,
                                     **getattr(tasks, "BEAT_SCHEDULE", {})}
    app.extensions.setdefault("domains", []).append(package)


def conventional(package: str) -> Callable[[Flask], None]:
    """The ``init_app`` of a domain that needs nothing beyond the convention:
    ``init_app = conventional(__name__)``."""

    def init_app(app: Flask) -> None:
        install(app, package)

    return init_app
