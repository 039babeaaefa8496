"""The shipped SOP library (``sop/library/*.json``) and its idempotent loader.

Scope: each lab gets its own copy (``Sop`` rows are per lab) because each lab adopts, versions
and approves its SOPs itself. Loading is keyed on (lab, code) and on the file's digest: a file
already loaded is skipped; a changed file becomes a new draft version for the lab to approve.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from marshmallow import validate
from sqlalchemy import select

from ballistics.auth.models import Lab, User
from ballistics.core import fields
from ballistics.core.schema import BaseSchema
from ballistics.extensions import db
from sop.models import Sop, SopVersion, VersionStatus
from sop.schemas import StepInSchema
from sop.services import documents

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"


class LibrarySopSchema(BaseSchema):
    """One library file."""

    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2,4}-\d{2}$"))
    title = fields.String(required=True, validate=validate.Length(min=5, max=200))
    discipline = fields.String(required=True, validate=validate.OneOf(
        ["firearms", "quality", "safety", "evidence"]))
    summary = fields.String(required=True, validate=validate.Length(min=20, max=2000))
    scope = fields.String(required=True, validate=validate.Length(min=20))
    references = fields.List(fields.String(), load_default=list)
    turnaround_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1, max=365))
    review_months = fields.Integer(load_default=24, validate=validate.Range(min=1, max=60))
    steps = fields.List(fields.Nested(StepInSchema), required=True,
                        validate=validate.Length(min=3))


def library_files() -> list[Path]:
    return sorted(LIBRARY_DIR.glob("*.json"))


def read(path: Path) -> tuple[dict, str]:
    """Validate one file; returns the loaded data and the file's sha256."""
    raw = path.read_bytes()
    return LibrarySopSchema().load(json.loads(raw)), hashlib.sha256(raw).hexdigest()


def _body(data: dict) -> str:
    parts = [f"Scope\n{data['scope']}"]
    if data["references"]:
        parts.append("References\n" + "\n".join(f"- {r}" for r in data["references"]))
    parts.append("Procedure\n" + "\n".join(f"{i}. {s['title']}: {s['instruction']}"
                                          for i, s in enumerate(data["steps"], start=1)))
    return "\n\n".join(parts)


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def load_library(lab: Lab, approver: User | None = None) -> LoadReport:
    """Load every library SOP into the lab. With an approver (a lab manager), new versions are
    approved and put in force today; otherwise they stay drafts for the lab to approve."""
    report = LoadReport()
    existing = {s.code: s for s in db.session.execute(
        select(Sop).where(Sop.lab_id == lab.id)).scalars()}
    for path in library_files():
        data, digest = read(path)
        source = f"library:{path.name}#{digest[:16]}"
        sop = existing.get(data["code"])
        if sop is None:
            sop = Sop(lab_id=lab.id, code=data["code"], title=data["title"],
                      discipline=data["discipline"])
            db.session.add(sop)
            db.session.flush()
            report.created.append(sop.code)
        elif any(v.source == source for v in sop.versions):
            report.unchanged.append(sop.code)
            continue
        else:
            report.new_versions.append(sop.code)
        today = lab.today()
        review_due = today + timedelta(days=30 * data["review_months"])
        version = documents.add_version(sop, author=None, summary=data["summary"],
                                        body=_body(data), steps=data["steps"], source=source,
                                        turnaround_days=data["turnaround_days"],
                                        review_due=review_due)
        if approver is not None:
            documents.submit_for_review(approver, version)
            documents.approve_version(approver, version)
            documents.activate_version(approver, version)
    return report


def effective_versions(lab_id: int) -> dict[str, SopVersion]:
    rows = db.session.execute(select(SopVersion).join(Sop).where(
        Sop.lab_id == lab_id, SopVersion.status == VersionStatus.EFFECTIVE)).scalars()
    return {v.sop.code: v for v in rows}
