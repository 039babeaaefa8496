"""Driving Debian's chromium with Playwright: where it is, how it starts, logging in, keeping
screenshots (under ``test-artifacts/``, which CI keeps)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from tests.support.labs import PASSWORD
from tests.support.services import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page, name: str, *, full_page: bool = True) -> Path | None:
    """Keep a picture of the page for a person to look at (``name`` may hold a folder). A
    picture is not a check: when Chromium cannot take one (CI once got "Unable to capture
    screenshot" on a loaded machine, failing a test whose assertions held), try once more,
    then warn and go on."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        try:
            page.screenshot(path=str(path), full_page=full_page)
            return path
        except PlaywrightError as exc:
            if attempt == 2:
                warnings.warn(f"no screenshot {name}: {exc}", stacklevel=2)
    return None
