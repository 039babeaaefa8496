"""Small API and page helpers for evidence tests."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD


class Api:
    """Calls the JSON API as one user of a lab kit and checks the status of every answer."""

    def __init__(self, client, kit, who: str):
        self.client, self.kit, self.who = client, kit, who

    def as_(self, who: str) -> Api:
        return Api(self.client, self.kit, who)

    def call(self, method: str, path: str, expect: int, json: dict | None = None):
        response = self.client.open(f"/api/v1{path}", method=method, json=json,
                                    headers=self.kit.headers(self.who))
        assert response.status_code == expect, (response.status_code, response.get_json())
        return response.get_json()

    def post(self, path: str, json: dict | None = None, expect: int = 201):
        return self.call("POST", path, expect, json or {})

    def get(self, path: str, expect: int = 200):
        return self.call("GET", path, expect)

    def new_case(self) -> dict:
        return self.post("/cases", {"submitting_agency": "Central Police",
                                    "agency_case_number": "CP-1", "offence": "Murder"})

    def receive(self, case_id: int, kind: str = "cartridge_case", **extra) -> dict:
        body = {"kind": kind, "from_agency": "Central Police", **extra}
        return self.post(f"/cases/{case_id}/items", body)


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_FLASH = re.compile(r'<p class="flash (\w+)" role="alert">([^<]*)</p>')


class Browser:
    """A test client logged in through the login form, posting forms with their CSRF token.

    Every request runs in its own app context, as in a server: the test's outer app context
    would otherwise share ``g`` (and Flask-Login's cached user) between clients, and its
    database session with the test.
    """

    def __init__(self, app, kit, who: str):
        self.app, self.client = app, app.test_client()
        page = self._open("GET", "/login").text
        response = self._open("POST", "/login", data={
            "csrf_token": _TOKEN.search(page).group(1),
            "username": kit.users[who].username, "password": PASSWORD})
        assert response.status_code == 302, response.text
        self.token = _TOKEN.search(self.get("/cases")).group(1)

    def _open(self, method: str, path: str, **kw):
        with self.app.app_context():
            return self.client.open(path, method=method, **kw)

    def get(self, path: str, expect: int = 200) -> str:
        response = self._open("GET", path)
        assert response.status_code == expect, (path, response.status_code)
        return response.text

    def post(self, path: str, data: dict, expect: int = 303, token: bool = True):
        response = self._open("POST", path,
                              data={"csrf_token": self.token, **data} if token else data)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response

    def submit(self, path: str, data: dict) -> tuple[str, str, list[tuple[str, str]]]:
        """Post a form, follow its redirect; return (landing path, page, flashed messages)."""
        target = self.post(path, data).location
        page = self.get(target)
        return target, page, [(c, _unescape(m)) for c, m in _FLASH.findall(page)]


def _unescape(text: str) -> str:
    return text.replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<")


def tamper_reason(event_id: int, reason: str = "nothing to see") -> None:
    """Alter a recorded custody event behind the application's back, as someone with database
    access could (the append-only triggers are lifted for the one UPDATE), and commit."""
    from sqlalchemy import text

    from ballistics.extensions import db

    conn = db.session.connection()
    update = text("UPDATE custody_events SET reason = :reason WHERE id = :id")
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE custody_events DISABLE TRIGGER custody_events_append_only"))
        conn.execute(update, {"reason": reason, "id": event_id})
        conn.execute(text("ALTER TABLE custody_events ENABLE TRIGGER custody_events_append_only"))
    else:
        conn.execute(text("DROP TRIGGER custody_events_no_update"))
        conn.execute(update, {"reason": reason, "id": event_id})
        conn.execute(text("CREATE TRIGGER custody_events_no_update BEFORE UPDATE ON "
                          "custody_events BEGIN SELECT RAISE(ABORT, 'append-only'); END"))
    db.session.commit()
