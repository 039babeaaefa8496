"""A lab's backup as a folder a court or an auditor can check: the database, the scans, and a
manifest naming every file with its SHA-256 (ISO/IEC 17025 7.11.3: data protected against loss
and tampering, and the protection checked).

No Flask here: the command line (:mod:`.cli`) passes the database URL and the folders.

- **Create** writes into a hidden folder beside the destination and renames it when complete,
  so a folder with a manifest is a whole backup; the destination must not exist. The database
  is copied consistently while the lab works (PostgreSQL: ``pg_dump``, one snapshot; SQLite:
  its online backup API), then the scans (files are only ever added, so a scan written during
  the copy is in the folder whether or not its row is: never a row without its file).
- **Verify** recomputes every file's SHA-256 against the manifest and names each file missing,
  changed or not listed.
- **Restore** refuses a backup that does not verify, and a database or scan folder that is not
  empty (a restore never overwrites a lab's records), then loads both.

Derived data is left out (the signature index: ``flask comparisons reindex`` rebuilds it from
the database). Keys (the ledger's signing keys, the network key) are left
out unless asked for: they are secrets, kept apart from the data they protect.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

FORMAT = "ballistics-backup/1"
MANIFEST = "manifest.json"
PG_DUMP, SQLITE_COPY = "database.pgdump", "database.sqlite"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be made, read or restored; the message says which and why."""


@dataclass
class Source:
    """What to back up (or where to restore to): the database and the folders."""

    database_url: str
    image_store: Path
    #: folders under ``image_store`` to leave out (derived data)
    skip: tuple[Path, ...] = ()
    #: secrets, copied only when asked: name in the backup -> folder or file
    keys: dict[str, Path] = field(default_factory=dict)


@dataclass
class Checked:
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _dialect(url: str) -> str:
    return make_url(url).get_backend_name()


def _libpq(url: str) -> tuple[str, dict]:
    """The URL as libpq takes it, without its password (that goes in the environment, not on a
    command line any user of the machine can read)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url}: not a SQLite file")
    return Path(database)


def _run(args: list[str], env: dict) -> None:
    try:
        # a fixed program (pg_dump, pg_restore) with arguments we build: no shell
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError as exc:
        raise BackupError(f"{args[0]} is not installed (PostgreSQL's client tools)") from exc
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip() or done.returncode}")


def _hash(path: Path, copy_to: Path | None = None) -> tuple[int, str]:
    """The file's size and SHA-256, read once; ``copy_to``: written there as it is read."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fin, (copy_to.open("wb") if copy_to else nullcontext()) as fout:
        while block := fin.read(CHUNK):
            digest.update(block)
            if fout is not None:
                fout.write(block)
            size += len(block)
    return size, digest.hexdigest()


def _copy_hashed(src: Path, dst: Path) -> tuple[int, str]:
    dst.parent.mkdir(parents=True, exist_ok=True)
    found = _hash(src, copy_to=dst)
    shutil.copystat(src, dst)
    return found


def _files(root: Path, skip: Iterable[Path] = ()) -> Iterator[Path]:
    skipped = [s.resolve() for s in skip]
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(path.resolve().is_relative_to(s) for s in skipped):
            yield path


def _dump_database(url: str, into: Path) -> str:
    if _dialect(url) == "postgresql":
        target, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--file={into / PG_DUMP}", f"--dbname={target}"], env)
        return PG_DUMP
    if _dialect(url) == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"{source}: no such database")
        # (closing: sqlite3's own context manager commits but leaves the file open)
        with closing(sqlite3.connect(source)) as src, \
                closing(sqlite3.connect(into / SQLITE_COPY)) as dst:
            src.backup(dst)  # a consistent copy, other connections writing or not
        return SQLITE_COPY
    raise BackupError(f"{_dialect(url)}: only PostgreSQL and SQLite databases are backed up")


def create(dest: Path, source: Source, *, facts: dict, with_keys: bool = False) -> dict:
    """Write a backup into ``dest`` (which must not exist); its manifest. ``facts``: what the
    caller knows of the records (schema revision, each lab's log), kept in the manifest so a
    restore can be compared with the witnesses."""
    dest = dest.resolve()
    if dest.exists():
        raise BackupError(f"{dest} already exists: a backup never overwrites another")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        files = []
        database = _dump_database(source.database_url, work)
        size, digest = _hash(work / database)
        files.append({"path": database, "size": size, "sha256": digest})
        for path in _files(source.image_store, source.skip):
            name = Path("scans") / path.relative_to(source.image_store)
            size, digest = _copy_hashed(path, work / name)
            files.append({"path": name.as_posix(), "size": size, "sha256": digest})
        keys, shapes = [], {}
        if with_keys:
            for label, where in sorted(source.keys.items()):
                shapes[label] = "file" if where.is_file() else "folder"
                for path in ([where] if where.is_file() else _files(where)):
                    rel = path.name if where.is_file() else path.relative_to(where)
                    name = Path("keys") / label / rel
                    size, digest = _copy_hashed(path, work / name)
                    (work / name).chmod(0o600)
                    files.append({"path": name.as_posix(), "size": size, "sha256": digest})
                    keys.append(name.as_posix())
        manifest = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(),
                    "database": {"dialect": _dialect(source.database_url), "file": database},
                    "keys_included": with_keys, "key_shapes": shapes, "files": files,
                    **facts}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        if keys:
            work.chmod(0o700)  # it holds secrets
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{folder}: no {MANIFEST} (not a backup, or not a finished one)"
                          ) from exc
    except json.JSONDecodeError as exc:
        raise BackupError(f"{folder / MANIFEST}: not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{folder / MANIFEST}: not a {FORMAT} manifest")
    return manifest


def manifest_digest(folder: Path) -> str:
    """The manifest's SHA-256: written in the lab's backup register, it pins every file."""
    return _hash(folder / MANIFEST)[1]


def verify(folder: Path) -> Checked:
    """Every file of the manifest present with its size and SHA-256, and no other file."""
    folder = folder.resolve()
    manifest = read_manifest(folder)
    result = Checked()
    listed = set()
    for entry in manifest["files"]:
        rel = entry["path"]
        listed.add(rel)
        path = (folder / rel).resolve()
        if not path.is_relative_to(folder):
            result.problems.append(f"{rel}: outside the backup")
            continue
        if not path.is_file():
            result.problems.append(f"{rel}: missing")
            continue
        size, digest = _hash(path)
        if (size, digest) != (entry["size"], entry["sha256"]):
            result.problems.append(f"{rel}: changed (SHA-256 {digest}, the manifest says "
                                   f"{entry['sha256']})")
            continue
        result.files += 1
        result.bytes += size
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST and rel not in listed:
            result.problems.append(f"{rel}: not in the manifest")
    return result


def _empty_database(url: str) -> None:
    if _dialect(url) == "sqlite":
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            raise BackupError(f"{path} exists: restore into a new database, never over one")
        return
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"the target database holds {len(tables)} tables: restore into an "
                          "empty database, never over one")


def restore(folder: Path, target: Source, *, with_keys: bool = False) -> dict:
    """Load a verified backup into an empty database and an empty scan folder; its manifest.
    ``with_keys``: also put the backup's keys where ``target.keys`` says (refused if a key
    file is there already)."""
    folder = folder.resolve()
    manifest = read_manifest(folder)
    checked = verify(folder)
    if not checked.ok:
        raise BackupError("the backup does not verify: " + "; ".join(checked.problems))
    dialect = manifest["database"]["dialect"]
    if dialect != _dialect(target.database_url):
        raise BackupError(f"the backup holds a {dialect} database; the target is "
                          f"{_dialect(target.database_url)}")
    if with_keys and not manifest["keys_included"]:
        raise BackupError("the backup holds no keys (made without --with-keys)")
    _empty_database(target.database_url)
    if any(_files(target.image_store, target.skip)):
        raise BackupError(f"{target.image_store} holds files: restore into an empty folder")
    key_files = _key_destinations(manifest, target) if with_keys else []
    for _rel, dest in key_files:
        if dest.exists():
            raise BackupError(f"{dest} exists: a key is never overwritten")

    database = folder / manifest["database"]["file"]
    if dialect == "postgresql":
        url, env = _libpq(target.database_url)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", f"--dbname={url}", str(database)], env)
    else:
        path = _sqlite_path(target.database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(database, path)
        with closing(sqlite3.connect(path)) as conn:
            [(answer,)] = conn.execute("PRAGMA integrity_check").fetchall()
        if answer != "ok":
            path.unlink()
            raise BackupError(f"the restored SQLite database fails its integrity check: {answer}")
    for entry in manifest["files"]:
        rel = Path(entry["path"])
        if rel.parts[0] == "scans":
            _copy_hashed(folder / rel, target.image_store / Path(*rel.parts[1:]))
    for rel, dest in key_files:
        _copy_hashed(folder / rel, dest)
        dest.chmod(0o600)
    return manifest


def _key_destinations(manifest: dict, target: Source) -> list[tuple[Path, Path]]:
    """Each key file of the backup and where it goes: a key kept as a file goes to the
    target's file, a folder's files under the target's folder."""
    pairs = []
    for entry in manifest["files"]:
        rel = Path(entry["path"])
        if rel.parts[0] != "keys":
            continue
        label = rel.parts[1]
        where = target.keys.get(label)
        if where is None:
            raise BackupError(f"{rel}: no place to restore this key to")
        shape = manifest["key_shapes"].get(label)
        pairs.append((rel, where if shape == "file" else where / Path(*rel.parts[2:])))
    return pairs
