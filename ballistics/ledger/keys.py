"""The lab's ledger signing key, kept outside the database, with rotation.

Why a file and not a row: whoever can rewrite the database must not also hold the key that
signs checkpoints, or a rewritten history could be re-signed. The keyring is one JSON file
(mode 0600, in a 0700 folder) under the instance folder, or wherever ``LEDGER_KEY_FILE`` points
(a mounted secret, another disk). It is made on first use; a file that group or others can read
is refused, as ssh refuses such a private key.

Rotation adds a new key and closes the old key's validity period; the old *private* key is
erased from the file, the old *public* key stays with its period, so checkpoints signed before
the rotation still verify and a checkpoint that claims the old key but was cosigned after the
period closed can be told apart (a witness's cosignature timestamp dates it).

File format (``ballistics.ledger.keyring/v1``)::

    {"format": ..., "name": "<key name = log origin>",
     "keys": [{"vkey": "<name>+<id>+<key>", "skey": "PRIVATE+KEY+..." | null,
               "valid_from": "2026-01-01T00:00:00Z", "valid_until": null | "..."}]}

``public_keys()`` is the same without ``skey``: what a court verifier or a witness is given.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ballistics.ledger import notes

KEYRING_FORMAT = "ballistics.ledger.keyring/v1"
PUBLIC_FORMAT = "ballistics.ledger.public-keys/v1"
ENV_KEY_FILE = "LEDGER_KEY_FILE"
DEFAULT_RELATIVE_PATH = Path("ledger") / "signing-keys.json"


class KeyringError(RuntimeError):
    """The keyring cannot be used safely; the message says what to fix."""


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class PublicKey:
    """A verifier key and the POSIX seconds during which it was the active signing key."""

    verifier: notes.Ed25519Verifier
    valid_from: int
    valid_until: int | None = None

    def valid_at(self, when: int) -> bool:
        return self.valid_from <= when and (self.valid_until is None or when < self.valid_until)

    def to_dict(self) -> dict:
        return {"vkey": self.verifier.vkey(), "valid_from": iso(self.valid_from),
                "valid_until": None if self.valid_until is None else iso(self.valid_until)}

    @classmethod
    def from_dict(cls, data: Mapping) -> PublicKey:
        try:
            until = data.get("valid_until")
            return cls(notes.parse_verifier_key(data["vkey"]), from_iso(data["valid_from"]),
                       None if until is None else from_iso(until))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"malformed key entry: {exc}") from exc


def load_public_keys(data: Mapping) -> list[PublicKey]:
    """Read a ``public_keys()`` document (or a whole keyring: the private parts are ignored)."""
    if data.get("format") not in (PUBLIC_FORMAT, KEYRING_FORMAT):
        raise KeyringError(f"not a ledger key document (format {data.get('format')!r})")
    return [PublicKey.from_dict(k) for k in data.get("keys", [])]


def default_key_file(instance_path: str | os.PathLike, environ: Mapping[str, str] = os.environ,
                     ) -> Path:
    return Path(environ.get(ENV_KEY_FILE) or Path(instance_path) / DEFAULT_RELATIVE_PATH)


class Keyring:
    """The lab's signing keys in one protected file; ``open`` creates it on first use."""

    def __init__(self, path: Path, name: str, entries: list[dict]) -> None:
        self.path, self.name, self._entries = path, name, entries

    # -- loading and creating --------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, name: str, now: int | None = None) -> Keyring:
        """Load the keyring at ``path``, or create it with one fresh key named ``name``.

        Several processes may start at once: creation writes a temporary file and links it into
        place, so exactly one key is ever made and the others load it.
        """
        path = Path(path)
        if not path.exists():
            signer = notes.Ed25519Signer.generate(name)
            ts = int(time.time()) if now is None else now
            entry = {"vkey": signer.verifier().vkey(), "skey": signer.skey(),
                     "valid_from": iso(ts), "valid_until": None}
            create_private_file(path, json.dumps({"format": KEYRING_FORMAT, "name": name,
                                                  "keys": [entry]}, indent=1) + "\n")
        keyring = cls.load(path)
        if keyring.name != name:
            raise KeyringError(f"{path} holds keys named {keyring.name!r}, not {name!r}")
        return keyring

    @classmethod
    def load(cls, path: str | os.PathLike) -> Keyring:
        path = Path(path)
        try:
            data = json.loads(read_private_file(path))
        except (OSError, ValueError) as exc:
            raise KeyringError(f"cannot read the keyring {path}: {exc}") from exc
        if data.get("format") != KEYRING_FORMAT or not data.get("keys"):
            raise KeyringError(f"{path} is not a ledger keyring")
        keyring = cls(path, data["name"], data["keys"])
        keyring.signer()  # fail now, not at the first checkpoint, if the active key is unusable
        return keyring

    # -- using -------------------------------------------------------------------------------

    def signer(self) -> notes.Ed25519Signer:
        """The active signing key: the one whose period is open."""
        active = [e for e in self._entries if e.get("valid_until") is None]
        if len(active) != 1 or not active[0].get("skey"):
            raise KeyringError(f"{self.path} must hold exactly one active private key")
        try:
            signer = notes.parse_signer_key(active[0]["skey"])
        except notes.NoteError as exc:
            raise KeyringError(f"the active key in {self.path} is unusable: {exc}") from exc
        if signer.verifier().vkey() != active[0]["vkey"] or signer.name != self.name:
            raise KeyringError(f"the active private key in {self.path} does not match its "
                               "public key")
        return signer

    def public_keys(self) -> list[PublicKey]:
        return [PublicKey.from_dict(e) for e in self._entries]

    def public_document(self) -> dict:
        return {"format": PUBLIC_FORMAT, "name": self.name,
                "keys": [k.to_dict() for k in self.public_keys()]}

    # -- rotating ----------------------------------------------------------------------------

    def rotate(self, now: int | None = None) -> notes.Ed25519Signer:
        """Close the active key's period at ``now``, erase its private half and start a new
        key. Serialised by an exclusive lock so two rotations cannot both win."""
        ts = int(time.time()) if now is None else now
        with _locked(self.path):
            current = Keyring.load(self.path)
            entries = [dict(e) for e in current._entries]
            for e in entries:
                if e.get("valid_until") is None:
                    if from_iso(e["valid_from"]) >= ts:
                        raise KeyringError("the new key's period must start after the "
                                           "active key's")
                    e["valid_until"], e["skey"] = iso(ts), None
            signer = notes.Ed25519Signer.generate(self.name)
            entries.append({"vkey": signer.verifier().vkey(), "skey": signer.skey(),
                            "valid_from": iso(ts), "valid_until": None})
            _replace(self.path, {"format": KEYRING_FORMAT, "name": self.name, "keys": entries})
        self._entries = entries
        return signer


def read_private_file(path: str | os.PathLike) -> str:
    """The text of a secret file, refused if group or others may access it."""
    path = Path(path)
    _check_private(path)
    return path.read_text()


def create_private_file(path: str | os.PathLike, text: str) -> bool:
    """Write ``text`` to a new 0600 file (0700 folder); False if the file already existed."""
    path = Path(path)
    tmp = _temp_copy(path, text)
    try:
        os.link(tmp, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


def _check_private(path: Path) -> None:
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyringError(f"cannot read the keyring {path}: {exc}") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(f"{path} is accessible to group or others "
                           f"(mode {stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}")


def _temp_copy(path: Path, content: dict | str) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=path.parent)  # created with mode 0600
    with os.fdopen(fd, "w") as fh:
        fh.write(content if isinstance(content, str) else json.dumps(content, indent=1) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return Path(tmp)


def _replace(path: Path, data: dict) -> None:
    os.replace(_temp_copy(path, data), path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
