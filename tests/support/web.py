"""Calling the app as a user: the JSON API with a bearer token, pages with a logged-in client."""

from __future__ import annotations

import re

from tests.support.labs import PASSWORD, LabKit


class Api:
    """Calls the JSON API as one user of a lab kit and checks the status of every answer."""

    def __init__(self, client, kit: LabKit, who: str):
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


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FLASH = re.compile(r'<p class="flash (\w+)" role="alert">([^<]*)</p>')


class Browser:
    """A test client logged in through the login form, posting forms with their CSRF token."""

    def __init__(self, app, kit: LabKit, who: str):
        self.app, self.client = app, app.test_client()
        page = self.client.get("/login").text
        response = self.client.post("/login", data={
            "csrf_token": TOKEN.search(page).group(1),
            "username": kit.users[who].username, "password": PASSWORD})
        assert response.status_code == 302, response.text
        self.token = TOKEN.search(self.get("/cases")).group(1)

    def get(self, path: str, expect: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == expect, (path, response.status_code)
        return response.text

    def post(self, path: str, data: dict, expect: int = 303, token: bool = True):
        response = self.client.post(path,
                                    data={"csrf_token": self.token, **data} if token else data)
        assert response.status_code == expect, (path, response.status_code, response.text)
        return response

    def submit(self, path: str, data: dict) -> tuple[str, str, list[tuple[str, str]]]:
        """Post a form as a browser does; return (landing path, page, flashed messages).

        Accepted: the redirect (303) is followed. Refused: the page comes back at once (422),
        re-rendered with the messages; the landing path is then the posted path."""
        response = self.client.post(path, data={"csrf_token": self.token, **data})
        assert response.status_code in (303, 422), (path, response.status_code, response.text)
        if response.status_code == 422:
            return path, response.text, flashes(response.text)
        page = self.get(response.location)
        return response.location, page, flashes(page)


def flashes(page: str) -> list[tuple[str, str]]:
    return [(c, unescape(m)) for c, m in FLASH.findall(page)]


def unescape(text: str) -> str:
    return text.replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<")


def field_errors(page: str) -> dict[str, str]:
    """Messages shown beside fields: {field name: message}."""
    return {name: unescape(text) for name, text in re.findall(
        r'data-field-error="([^"]+)">([^<]*)</span>', page)}
