"""The shipped SOP library: every file validates, loading is per lab and idempotent."""

from __future__ import annotations

import json

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from ballistics.extensions import db
from sop.models import Sop, SopStep, SopVersion
from sop.services.library import LibrarySopSchema, library_files, read
from tests.support.labs import make_lab


def test_library_has_at_least_17_valid_sops_with_unique_codes():
    files = library_files()
    assert len(files) >= 17
    codes = [read(path)[0]["code"] for path in files]
    assert len(set(codes)) == len(codes)
    assert any(s.get("is_value_required") for p in files for s in read(p)[0]["steps"])


def test_schema_names_the_bad_field():
    data = json.loads(library_files()[0].read_text())
    data["code"] = "bad code"
    data["steps"][0]["min_value"] = "low"
    with pytest.raises(ValidationError) as err:
        LibrarySopSchema().load(data)
    assert set(err.value.messages) == {"code", "steps"}


def _counts(lab_id: int) -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Sop.id)).where(Sop.lab_id == lab_id)),
            db.session.scalar(select(func.count(SopVersion.id)).where(SopVersion.lab_id ==
                                                                      lab_id)),
            db.session.scalar(select(func.count(SopStep.id)).where(SopStep.lab_id == lab_id)))


def test_cli_loads_per_lab_and_is_idempotent(app):
    kit, other = make_lab(), make_lab()
    runner = app.test_cli_runner()
    manager = kit.users["manager"].username
    result = runner.invoke(args=["sop", "load-library", "--lab", kit.lab.code,
                                 "--approve-as", manager])
    assert result.exit_code == 0, result.output
    n = len(library_files())
    assert f"{n} created, 0 new versions, 0 unchanged" in result.output
    first = _counts(kit.lab.id)
    assert first[0] == n and first[1] == n and first[2] > 3 * n
    statuses = set(db.session.scalars(select(SopVersion.status).where(
        SopVersion.lab_id == kit.lab.id)))
    assert statuses == {"effective"}
    again = runner.invoke(args=["sop", "load-library", "--lab", kit.lab.code])
    assert again.exit_code == 0 and f"0 created, 0 new versions, {n} unchanged" in again.output
    assert _counts(kit.lab.id) == first
    # Each lab adopts its own copy; the other lab was not touched.
    assert _counts(other.lab.id) == (0, 0, 0)
    bad = runner.invoke(args=["sop", "load-library", "--lab", kit.lab.code,
                              "--approve-as", kit.users["examiner"].username])
    assert bad.exit_code != 0 and "not a lab manager" in bad.output
