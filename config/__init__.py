"""Settings: embedded defaults for a first run, every one overridable by an environment variable.

The embedded default needs no server: SQLite under ``instance/`` and kombu's filesystem transport
for Celery. Production sets ``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis or
RabbitMQ); see README.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance: Path) -> str:
    """Read SECRET_KEY from the environment, else from a random key kept under instance/.

    A shipped constant would let anyone forge sessions on every newcomer's install.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_settings(overrides: dict | None = None) -> dict:
    """Return the Flask config mapping for this process."""
    overrides = dict(overrides or {})
    env = os.environ
    instance = Path(overrides.pop("INSTANCE_PATH", None) or env.get("INSTANCE_PATH")
                    or REPO_ROOT / "instance").resolve()
    instance.mkdir(parents=True, exist_ok=True)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'ballistics.sqlite'}"
    broker_url = env.get("CELERY_BROKER_URL") or "filesystem://"
    settings = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": env.get("CELERY_RESULT_BACKEND")
        or f"db+sqlite:///{instance / 'celery-results.sqlite'}",
        "CELERY_BROKER_FOLDER": str(instance / "broker"),
        "CELERY_TASK_DEFAULT_QUEUE": env.get("CELERY_TASK_DEFAULT_QUEUE", "ballistics"),
        "CELERY_TASK_ALWAYS_EAGER": env.get("CELERY_TASK_ALWAYS_EAGER") == "1",
        "IMAGE_STORE": env.get("IMAGE_STORE") or str(instance / "scans"),
        # New scans are searched against the lab's references automatically (NIBIN-style).
        "COMPARISON_AUTO_SEARCH": env.get("COMPARISON_AUTO_SEARCH", "1") == "1",
        # Stage 1 runs as parallel shard tasks once the references exceed this many.
        "SEARCH_SHARD_SIZE": int(env.get("SEARCH_SHARD_SIZE", 50_000)),
        # Stage 2 compares the top K in tasks of this many pairs, spread over the workers
        # (measured: docs/signature-index.md).
        "SEARCH_CHUNK_SIZE": int(env.get("SEARCH_CHUNK_SIZE", 10)),
        # Stage 1 reads signatures from the shared segment index (docs/signature-index.md);
        # 0 goes back to loading every admissible signature from the database per search.
        "SEARCH_FROM_INDEX": env.get("SEARCH_FROM_INDEX", "1") == "1",
        # Where the index's segment files live (default: <IMAGE_STORE>/signature-index); all
        # workers of a machine share it; a shared file system serves several machines.
        "SIGNATURE_INDEX": env.get("SIGNATURE_INDEX", ""),
        # Redis redelivers an unacknowledged task after this many seconds (a killed worker's).
        "CELERY_VISIBILITY_TIMEOUT": int(env.get("CELERY_VISIBILITY_TIMEOUT", 3600)),
        # Every worker relays pending outbox messages this often (0 turns the relay off).
        "OUTBOX_RELAY_SECONDS": float(env.get("OUTBOX_RELAY_SECONDS", 5)),
        # A scan or search RUNNING for longer than this (seconds) is requeued or failed by the
        # sweep; well above the longest extraction or search.
        "WORK_STUCK_AFTER": int(env.get("WORK_STUCK_AFTER", 900)),
        # Transient task errors (database or file store away) are retried this many times,
        # TASK_RETRY_DELAY * 2^n seconds apart, before the task gives up and says why.
        "TASK_MAX_RETRIES": int(env.get("TASK_MAX_RETRIES", 5)),
        "TASK_RETRY_DELAY": float(env.get("TASK_RETRY_DELAY", 2)),
        # The custody ledger (docs/ledger.md). Each lab's log is named
        # <LEDGER_HOST>/ledger/<lab code>; its signing keys live in LEDGER_KEY_DIR (0600 files,
        # outside the database), one <lab code>.json keyring per lab.
        "LEDGER_HOST": env.get("LEDGER_HOST", "ballistics.local"),
        "LEDGER_KEY_DIR": env.get("LEDGER_KEY_DIR") or str(instance / "ledger"),
        # Witnesses that cosign checkpoints: "URL VKEY" pairs separated by commas (the witness
        # prints its VKEY: python -m ballistics.witness show-key).
        "LEDGER_WITNESSES": env.get("LEDGER_WITNESSES", ""),
        "LEDGER_WITNESS_TIMEOUT": float(env.get("LEDGER_WITNESS_TIMEOUT", 5)),
        # Every worker process seals new rows this often (0 turns the sealing thread off);
        # one sealer per lab at a time, whichever worker takes the lab's lock.
        "LEDGER_SEAL_SECONDS": float(env.get("LEDGER_SEAL_SECONDS", 0.5)),
        # A new checkpoint is signed (and sent to the witnesses) this often when the log grew.
        "LEDGER_CHECKPOINT_SECONDS": float(env.get("LEDGER_CHECKPOINT_SECONDS", 60)),
        # An id that stays missing behind newer rows longer than this is a rolled-back insert,
        # not a slow transaction; the hourly sweep still seals any row found later.
        "LEDGER_HOLE_SECONDS": float(env.get("LEDGER_HOLE_SECONDS", 600)),
        "LEDGER_SWEEP_SECONDS": float(env.get("LEDGER_SWEEP_SECONDS", 3600)),
        # Also queue a ledger.seal task through the outbox with every custody write (measured
        # slower; for deployments whose workers run tasks but not the sealing thread).
        "LEDGER_OUTBOX_NUDGE": env.get("LEDGER_OUTBOX_NUDGE") == "1",
        # The audit page warns when the latest backup (flask backup create) is older than this.
        "BACKUP_DUE_DAYS": int(env.get("BACKUP_DUE_DAYS", 2)),
        # A complaint's receipt is due to be acknowledged within this many working days
        # (Monday to Friday); the complaints register flags the ones past it.
        "COMPLAINT_ACK_WORKING_DAYS": int(env.get("COMPLAINT_ACK_WORKING_DAYS", 5)),
        # Scheduled backups (celery beat's backup.tick): into BACKUP_DIR (empty: none) when the
        # latest is older than BACKUP_EVERY_HOURS, each verified; BACKUP_KEEP > 0 deletes all
        # but that many of the newest verified ones (0 keeps every one).
        "BACKUP_DIR": env.get("BACKUP_DIR", ""),
        "BACKUP_EVERY_HOURS": float(env.get("BACKUP_EVERY_HOURS", 24)),
        "BACKUP_KEEP": int(env.get("BACKUP_KEEP", 0)),
        "APP_ROLE": env.get("APP_ROLE", "lab"),
        # A lab node: the hub's address and the lab this node speaks for there; its network
        # key lives in instance/network/<LAB>.json unless NETWORK_KEY_FILE points elsewhere.
        "NETWORK_HUB_URL": env.get("NETWORK_HUB_URL", ""),
        "NETWORK_LAB": env.get("NETWORK_LAB", ""),
        "NETWORK_KEY_FILE": env.get("NETWORK_KEY_FILE", ""),
        "NETWORK_SEARCH_TIMEOUT": int(env.get("NETWORK_SEARCH_TIMEOUT", 900)),
        # The hub fails a partner search still unfinished this long after it started, with its
        # reason. Shorter than a lab's NETWORK_SEARCH_TIMEOUT by more than the hub's sweep
        # period (5 min), so the lab reads why its search failed instead of its own timeout.
        "HUB_SEARCH_STUCK_AFTER": int(env.get("HUB_SEARCH_STUCK_AFTER", 540)),
        # The hub: hours an owning lab has to answer a lead (NIBIN expects leads in 24-48 h).
        "NETWORK_LEAD_HOURS": int(env.get("NETWORK_LEAD_HOURS", 48)),
        # The hub: the staff lab whose ledger log also seals the network records (audit entries
        # of no lab: members, shared records, searches, leads, exchanges); empty: the hub's
        # first lab. docs/ledger.md, "The hub's log".
        "HUB_LEDGER_LAB": env.get("HUB_LEDGER_LAB", ""),
        # Rate limits (ballistics/core/ratelimit.py): one store for every web process (Redis in
        # production; memory:// counts per process, so scripts/run serves from one process).
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "ballistics"),
        "RATELIMIT_STRATEGY": "moving-window",
        # login attempts per account (username tried) and per client address
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_LOGIN_ADDRESS": env.get("RATELIMIT_LOGIN_ADDRESS", "30 per minute"),
        # manual searches and scan uploads per user (API and pages together)
        "RATELIMIT_SEARCH": env.get("RATELIMIT_SEARCH", "10 per minute;200 per day"),
        "RATELIMIT_UPLOAD": env.get("RATELIMIT_UPLOAD", "30 per minute;1000 per day"),
        # reverse proxies in front of the app whose X-Forwarded-* headers are believed (0: none)
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        # a one-time set-password link works this many hours
        "PASSWORD_RESET_HOURS": int(env.get("PASSWORD_RESET_HOURS", 24)),
        # an API Idempotency-Key and its answer are kept this many hours (then a retry with it
        # runs again)
        "IDEMPOTENCY_KEY_HOURS": int(env.get("IDEMPOTENCY_KEY_HOURS", 24)),
        # where the command line's set-password links point (pages build theirs from the request)
        "PUBLIC_URL": env.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 64 * 1024 * 1024)),
    }
    settings.update(overrides)
    return settings
