"""The node's signed client for the hub (standard library HTTP, Ed25519 key from the node's
network keyring).

The network key is a key of its own, not the ledger's: it authenticates requests between this
node and the hub, while the ledger key signs the custody log's checkpoints; either can be
rotated or revoked without touching the other, and a leaked network key cannot re-sign history.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from ballistics.ledger.keys import Keyring
from ballistics.network import signing
from ballistics.network.hub import key_id_for


class HubUnavailable(OSError):
    """The hub could not be reached or answered with a server error: try again later."""


@dataclass
class HubRefused(Exception):
    """The hub refused the request (4xx): retrying the same request will not help."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"hub refused ({self.status} {self.code}): {self.message}"


def keyring(lab_code: str | None = None) -> Keyring:
    """This node's network keyring, made on first use (its public key goes to the hub admin)."""
    cfg = current_app.config
    code = lab_code or cfg["NETWORK_LAB"]
    path = cfg.get("NETWORK_KEY_FILE") or Path(cfg["INSTANCE_PATH"]) / "network" / f"{code}.json"
    return Keyring.open(path, code)


def identity(lab_code: str | None = None) -> tuple[str, bytes, bytes]:
    """(key id, private seed, public key) of the node's active network key."""
    signer = keyring(lab_code).signer()
    return key_id_for(signer.name, signer.public_key), signer.seed, signer.public_key


def call(method: str, path: str, body: dict | None = None, *, timeout: float = 30) -> dict | list:
    """Send one signed request to the hub; return its JSON answer."""
    base = current_app.config["NETWORK_HUB_URL"].rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise HubRefused(0, "network_not_configured",
                         "This node has no NETWORK_HUB_URL (https://... of the regional hub).")
    url = base + path
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    key_id, seed, _ = identity()
    headers = signing.sign(method, url, data, key_id=key_id, seed=seed)
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data if body is not None else None,  # noqa: S310 - scheme checked above
                                     method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"error": "http_error", "message": text[:200].decode(errors="replace")}
        if exc.code >= 500:
            raise HubUnavailable(f"hub answered {exc.code}: {answer.get('message')}") from exc
        raise HubRefused(exc.code, answer.get("error", "refused"),
                         answer.get("message", "")) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise HubUnavailable(f"hub at {base} unreachable: {exc}") from exc
