"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and C2SP Ed25519
cosignatures (https://c2sp.org/tlog-cosignature, ``cosignature/v1``, signature type 0x04).

Pure: PyNaCl for Ed25519, nothing else. The encodings are byte-for-byte those of
golang.org/x/mod/sumdb/note, the reference implementation, whose test vectors pass here:

- note: ``text`` (ends in a newline) + ``"\\n"`` + lines ``"— <name> base64(key ID || sig)\\n"``;
- key ID: the first four bytes of ``SHA-256(name || 0x0A || type || public key)``, big-endian;
- verifier key: ``<name>+<hex key ID>+base64(type || public key)``;
- signer key: ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)`` (the Go format;
  C2SP does not define one).

A cosigner keeps a plain Ed25519 signer key: its cosignature verifier key is the same public
key under type 0x04 (as transparency-dev/formats does), and a cosignature is
``timestamp (8 bytes, big-endian) || Ed25519("cosignature/v1\\ntime <t>\\n" || note text)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

EM_DASH = "\u2014"
SIGNATURE_PREFIX = EM_DASH + " "
ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
#: Go's limit; the spec asks verifiers to accept at least 16 signatures.
MAX_SIGNATURES = 100
MAX_TIMESTAMP = 2**63 - 1


class NoteError(ValueError):
    """A note, key or signature that cannot be used; the message says why."""


class MalformedNote(NoteError):
    pass


class InvalidSignature(NoteError):
    """A signature from a known key that does not verify: the whole note is refused."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")
        self.name, self.key_id = name, key_id


class UnverifiedNote(NoteError):
    """No signature from a known key: the note must be ignored."""

    def __init__(self, note: Note) -> None:
        super().__init__("the note has no signature from a trusted key")
        self.note = note


def is_valid_key_name(name: str) -> bool:
    """Non-empty, without Unicode spaces or ``+`` (signed-note, "Format")."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def compute_key_id(name: str, alg: int, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64, canonical only: RFC 4648 lets a decoder refuse non-zero pad bits, and
    refusing them means a note has one encoding, so any changed character is detected."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise NoteError(f"{what} is not standard base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


class Verifier(Protocol):
    """What ``open_note`` needs: a name, a key ID and a check of one signature."""

    name: str
    key_id: int

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    name: str
    key_id: int

    def sign(self, text: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Verifier:
    """A note verifier for signature type 0x01 (a log's or a lab's key)."""

    name: str
    public_key: bytes
    alg = ALG_ED25519

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> int:
        return compute_key_id(self.name, self.alg, self.public_key)

    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.alg]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            VerifyKey(self.public_key).verify(text, signature)
        except BadSignatureError:
            return False
        return True


def cosignature_message(text: bytes | str, timestamp: int) -> bytes:
    """The message a cosignature/v1 signs: header line, time line, then the note text."""
    if isinstance(text, str):
        text = text.encode()
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text


def cosignature_timestamp(signature: bytes) -> int:
    """The POSIX time inside a cosignature (the signature bytes after the key ID)."""
    if len(signature) != 8 + 64:
        raise NoteError(f"a cosignature is 72 bytes, not {len(signature)}")
    return int.from_bytes(signature[:8], "big")


@dataclass(frozen=True)
class CosignatureVerifier(Ed25519Verifier):
    """A verifier for signature type 0x04: an Ed25519 cosignature/v1 by a witness."""

    alg = ALG_COSIGNATURE_V1

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 72:
            return False
        timestamp = cosignature_timestamp(signature)
        if timestamp > MAX_TIMESTAMP:
            return False
        return super().verify(cosignature_message(text, timestamp), signature[8:])


def parse_verifier_key(vkey: str) -> Ed25519Verifier:
    """A verifier from ``<name>+<hex key ID>+base64(type || key)``, type 0x01 or 0x04."""
    name, _, rest = vkey.partition("+")
    hex_id, _, material = rest.partition("+")
    if not is_valid_key_name(name) or len(hex_id) != 8:
        raise NoteError(f"malformed verifier key {vkey!r}")
    try:
        key_id = int(hex_id, 16)
    except ValueError as exc:
        raise NoteError(f"malformed key ID in verifier key {vkey!r}") from exc
    raw = _b64decode(material, "the verifier key material")
    if len(raw) != 33:
        raise NoteError("verifier key material is not a type byte and a 32-byte Ed25519 key")
    kinds = {ALG_ED25519: Ed25519Verifier, ALG_COSIGNATURE_V1: CosignatureVerifier}
    if raw[0] not in kinds:
        raise NoteError(f"unsupported signature type 0x{raw[0]:02x} in verifier key")
    verifier = kinds[raw[0]](name, raw[1:])
    if verifier.key_id != key_id:
        raise NoteError(f"the key ID in verifier key {vkey!r} does not match its key")
    return verifier


@dataclass(frozen=True, repr=False)
class Ed25519Signer:
    """An Ed25519 note signer (type 0x01); ``seed`` is the 32-byte private key."""

    name: str
    seed: bytes

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 private key seed is 32 bytes")

    def __repr__(self) -> str:  # never print the seed
        return f"{type(self).__name__}({self.name!r}, key_id={self.key_id:08x})"

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, bytes(SigningKey.generate()))

    @cached_property
    def public_key(self) -> bytes:
        return bytes(SigningKey(self.seed).verify_key)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.name, self.public_key)

    @cached_property
    def key_id(self) -> int:
        return self.verifier().key_id

    def sign(self, text: bytes) -> bytes:
        return SigningKey(self.seed).sign(text).signature

    def skey(self) -> str:
        material = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{material}"


def parse_signer_key(skey: str) -> Ed25519Signer:
    """A signer from ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)``."""
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or len(parts[3]) != 8:
        raise NoteError("malformed signer key")
    name, hex_id, material = parts[2:]
    try:
        key_id = int(hex_id, 16)
    except ValueError as exc:
        raise NoteError("malformed key ID in signer key") from exc
    raw = _b64decode(material, "the signer key material")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("signer key material is not 0x01 and a 32-byte Ed25519 seed")
    signer = Ed25519Signer(name, raw[1:])
    if signer.key_id != key_id:
        raise NoteError("the key ID in the signer key does not match its key")
    return signer


class CosignatureSigner:
    """Cosigns notes (type 0x04) with a plain Ed25519 signer key; ``clock`` gives POSIX time."""

    def __init__(self, signer: Ed25519Signer, clock: Callable[[], int] | None = None) -> None:
        self._signer = signer
        self.name = signer.name
        self._clock = clock or (lambda: int(time.time()))
        self.key_id = self.verifier().key_id

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self._signer.public_key)

    def sign(self, text: bytes, timestamp: int | None = None) -> bytes:
        timestamp = self._clock() if timestamp is None else timestamp
        if not 0 < timestamp <= MAX_TIMESTAMP:
            raise NoteError(f"cosignature timestamp {timestamp} is out of range")
        message = cosignature_message(text, timestamp)
        return timestamp.to_bytes(8, "big") + self._signer.sign(message)


@dataclass(frozen=True)
class Signature:
    """One signature line; ``signature`` excludes the 4-byte key ID."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"

    @classmethod
    def parse_line(cls, line: str) -> Signature:
        """One line without its newline; raises ``MalformedNote``."""
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNote(f"signature line does not start with {SIGNATURE_PREFIX!r}")
        name, _, b64 = line[len(SIGNATURE_PREFIX):].partition(" ")
        if not is_valid_key_name(name) or not b64:
            raise MalformedNote(f"malformed signature line {line!r}")
        try:
            blob = _b64decode(b64, "a signature")
        except NoteError as exc:
            raise MalformedNote(str(exc)) from exc
        if len(blob) < 5:
            raise MalformedNote("a signature holds a key ID and at least one byte")
        return cls(name, int.from_bytes(blob[:4], "big"), blob[4:])


@dataclass(frozen=True)
class Note:
    """The text (ending in a newline) and its signatures, in order."""

    text: str
    signatures: tuple[Signature, ...] = ()

    def encode(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()

    def with_signatures(self, extra: Iterable[Signature]) -> Note:
        """This note with ``extra`` appended, dropping any already present (same line)."""
        have = set(self.signatures)
        new = tuple(s for s in dict.fromkeys(extra) if s not in have)
        return Note(self.text, self.signatures + new)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise MalformedNote("the note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise MalformedNote("the note text holds a control character")


def parse_note(data: bytes | str) -> Note:
    """Split a signed note into text and signature lines; checks syntax only."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote("the note is not valid UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise MalformedNote("the note holds a control character other than newline")
    split = data.rfind("\n\n")
    if split < 0:
        raise MalformedNote("the note has no blank line before its signatures")
    text, block = data[:split + 1], data[split + 2:]
    if not block or not block.endswith("\n"):
        raise MalformedNote("the signature block must be non-empty and end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(Signature.parse_line(line) for line in lines))


def sign_note(text: str, signers: Iterable[Signer], existing: Iterable[Signature] = ()) -> Note:
    """Sign ``text`` with each signer; ``existing`` signatures come first (as Go's ``Sign``)
    unless a signer replaces the signature of the same key."""
    _check_text(text)
    fresh = []
    for signer in signers:
        if not is_valid_key_name(signer.name):
            raise NoteError(f"invalid signer name {signer.name!r}")
        fresh.append(Signature(signer.name, signer.key_id, signer.sign(text.encode())))
    replaced = {(s.name, s.key_id) for s in fresh}
    kept = tuple(s for s in existing if (s.name, s.key_id) not in replaced)
    return Note(text, kept + tuple(fresh))


@dataclass(frozen=True)
class OpenedNote:
    """A note whose text may be trusted: ``verified`` pairs each good signature with its key."""

    text: str
    verified: tuple[tuple[Signature, Verifier], ...]
    unverified: tuple[Signature, ...]

    def verified_by(self, name: str) -> list[Signature]:
        return [s for s, _ in self.verified if s.name == name]


def open_note(data: bytes | str | Note, verifiers: Iterable[Verifier]) -> OpenedNote:
    """Parse a note and check every signature whose (name, key ID) is known.

    As signed-note requires: signatures from unknown keys are ignored (kept as unverified); a
    known key's failing signature refuses the whole note (``InvalidSignature``); no verified
    signature at all refuses it too (``UnverifiedNote``). Repeated lines are counted once.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    known: dict[tuple[str, int], list[Verifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, v.key_id), []).append(v)
    text = note.text.encode()
    verified: list[tuple[Signature, Verifier]] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        candidates = known.get((sig.name, sig.key_id))
        if candidates is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if len(candidates) > 1:
            raise NoteError(f"ambiguous key {sig.name}+{sig.key_id:08x}")
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not candidates[0].verify(text, sig.signature):
            raise InvalidSignature(sig.name, sig.key_id)
        verified.append((sig, candidates[0]))
    if not verified:
        raise UnverifiedNote(note)
    return OpenedNote(note.text, tuple(verified), tuple(unverified))
