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
