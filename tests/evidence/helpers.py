"""Small API helpers for evidence tests."""

from __future__ import annotations


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
