"""The domain contract: every domain wires itself in through ``init_app``; the app factory names
domains, never their models, blueprints or task modules."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import click
from flask import Blueprint

from ballistics.app import DOMAINS
from ballistics.core.api import ApiBlueprint
from ballistics.core.domains import CONTRACT, submodule
from ballistics.extensions import db

REPO = Path(__file__).resolve().parents[2]


def test_each_domain_exposes_the_contract(app):
    assert {"ballistics.auth", "ballistics.audit", "ballistics.evidence",
            "ballistics.comparisons", "sop", "ballistics.outbox"} <= set(DOMAINS)
    celery = app.extensions["celery"]
    for name in DOMAINS:
        package = importlib.import_module(name)
        assert callable(package.init_app), name
        found = {sub: submodule(name, sub) for sub in CONTRACT}
        assert found["models"] is not None, f"{name} has no models"
        if found["api"] is not None:
            assert isinstance(found["api"].bp, ApiBlueprint)
            assert found["api"].bp.name in app.blueprints
        if found["views"] is not None:
            assert isinstance(found["views"].bp, Blueprint)
            assert found["views"].bp.name in app.blueprints
        if found["cli"] is not None:
            assert isinstance(found["cli"].cli, click.Command)
            assert found["cli"].cli.name in app.cli.commands
        if found["tasks"] is not None:
            assert found["tasks"].__name__ in celery.conf.imports
            for entry in getattr(found["tasks"], "BEAT_SCHEDULE", {}).values():
                assert entry["task"] in celery.tasks, entry
        if found["permissions"] is not None:
            role_sets = [v for k, v in vars(found["permissions"]).items()
                         if k.isupper() and isinstance(v, frozenset)]
            assert role_sets, f"{name}.permissions holds no role sets"
    # Every blueprint and every table belongs to a domain (the OpenAPI document is the app's).
    owners = {bp.import_name.rsplit(".", 1)[0] for bp in app.blueprints.values()}
    assert owners <= set(DOMAINS) | {"ballistics.core"}, owners
    for mapper in db.Model.registry.mappers:
        module = mapper.class_.__module__
        assert any(module.startswith(d + ".") for d in DOMAINS), module


def test_the_app_factory_names_no_part_of_a_domain():
    source = (REPO / "ballistics" / "app.py").read_text()
    for name in DOMAINS:
        for part in CONTRACT:
            assert f"{name}.{part}" not in source, f"app.py names {name}.{part}"
    assert re.findall(r"register_blueprint\((\w+)", source) == ["openapi"]
    assert "MODEL_MODULES" not in source and "imports=" not in source


def test_no_import_cycle_between_the_app_and_the_workers():
    for path in [*(REPO / "ballistics").rglob("*.py"), *(REPO / "sop").rglob("*.py")]:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) workers\b", text, re.M), path
    worker = (REPO / "workers" / "worker.py").read_text()
    assert "create_app()" in worker and "celery_app" not in worker
