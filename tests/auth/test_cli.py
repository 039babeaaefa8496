"""``flask accounts ...``: every refusal is one line and writes nothing; the commands work."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ballistics.audit.models import AuditEntry
from ballistics.auth.models import ApiToken, Lab, User
from ballistics.extensions import db
from tests.support.labs import PASSWORD

GOOD = "violet ledger canyon marmalade"


def _run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["accounts", *args], input=input)


def _written() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Lab, User, ApiToken, AuditEntry))


def _refused(result, says: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0], lines
    assert "Traceback" not in result.output


def test_cli_refusals_are_one_line_and_write_nothing(app, lab):
    before = _written()
    _refused(_run(app, "create-lab", lab.lab.code, "Again"), "already in use")
    _refused(_run(app, "create-user", lab.lab.code, lab.users["tech"].username, "Twin",
                  "--role", "examiner", "--password", GOOD), "already taken in this installation")
    _refused(_run(app, "create-user", lab.lab.code, f"new-{uuid.uuid4().hex[:6]}", "New",
                  "--role", "examiner", "--password", "password1234"), "common")
    _refused(_run(app, "create-user", lab.lab.code, f"new-{uuid.uuid4().hex[:6]}", "New",
                  "--role", "examiner", "--password", "short"), "at least 12 characters")
    _refused(_run(app, "deactivate", lab.users["admin"].username), "last active admin")
    _refused(_run(app, "set-roles", lab.users["admin"].username, "--role", "examiner"),
             "last active admin")
    _refused(_run(app, "deactivate", "nobody-at-all"), "no user nobody-at-all")
    db.session.expire_all()
    assert _written() == before


def test_cli_manages_an_account(app, lab):
    code = "C" + uuid.uuid4().hex[:6].upper()
    assert _run(app, "create-lab", code.lower(), "Command Lab").exit_code == 0
    name = f"cli-{code.lower()}"
    made = _run(app, "create-user", code, name.upper(), "Cleo Line", "--role", "admin",
                input=f"{GOOD}\n{GOOD}\n")
    assert made.exit_code == 0 and name in made.output
    tech = lab.users["tech"].username
    assert _run(app, "set-roles", tech, "--role", "examiner", "--role",
                "evidence_technician").exit_code == 0
    link = _run(app, "reset-password", tech, "--link")
    assert link.exit_code == 0 and "/password/" in link.output
    assert "1 token(s)" in _run(app, "revoke-tokens", tech).output
    assert _run(app, "deactivate", tech).exit_code == 0
    db.session.expire_all()
    user = db.session.get(User, lab.id("tech"))
    assert not user.is_active and {r.value for r in user.roles} == {"examiner",
                                                                   "evidence_technician"}
    assert _run(app, "reactivate", tech).exit_code == 0
    reset = _run(app, "reset-password", tech, "--must-change", input=f"{GOOD}\n{GOOD}\n")
    assert reset.exit_code == 0, reset.output
    db.session.expire_all()
    user = db.session.get(User, lab.id("tech"))
    assert user.check_password(GOOD) and not user.check_password(PASSWORD)
    assert user.must_change_password
