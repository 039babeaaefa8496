"""Lab, User (with roles) and API tokens."""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ballistics.auth.roles import Role
from ballistics.core.enums import db_enum
from ballistics.core.timeutil import local_day, local_today, utcnow
from ballistics.extensions import db

# argon2id with the library's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4) unless
# the deployment tunes the cost; test runs lower it to keep hundreds of accounts affordable.
_hasher = PasswordHasher(time_cost=int(os.environ.get("ARGON2_TIME_COST", 3)),
                         memory_cost=int(os.environ.get("ARGON2_MEMORY_KIB", 65536)))


class Lab(db.Model):
    __tablename__ = "labs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: short code used in case numbers and barcodes, e.g. "JM-FL"
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(80), default="")
    #: IANA zone the lab's pages show times in (stored times stay UTC), e.g. "America/Jamaica"
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def today(self) -> date:
        """Today in the lab's calendar: the day its records (a retirement, a revocation, an
        instrument falling due) are dated, which around midnight is not UTC's day."""
        return local_today(self.time_zone or "UTC")

    def day_of(self, ts: datetime) -> date:
        """The lab's calendar day of a stored (naive UTC) time."""
        return local_day(ts, self.time_zone or "UTC")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    #: login name in lower case, unique across the installation (one login per person, no lab
    #: to type at login; see :func:`ballistics.auth.services.create_user`)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    #: argon2id hash; the password itself is never stored. ``UNUSABLE`` until a set-password
    #: link is used
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    #: part of every session's login id: raising it (logout, password change, deactivation)
    #: ends every session issued before, so a copied or replayed cookie stops working
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: the next login must choose a new password before anything else (set by a manager)
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: the language the user chose for the pages ("en", "es"); None follows the browser
    locale: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lab: Mapped[Lab] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan",
                                                     lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    def get_id(self) -> str:
        # Flask-Login's alternative id: "<id>:<session version>" (see ``session_version``).
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Make every session cookie issued so far invalid."""
        self.session_version = (self.session_version or 1) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return True

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(db_enum(Role, length=40))


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


#: a password hash no password matches (an account waiting for its set-password link)
UNUSABLE = "!unusable"


class PasswordReset(db.Model):
    """A one-time link to set a password, handed over by a manager (there is no e-mail here).

    Only the token's SHA-256 is stored; the link works once, before ``expires_at``.
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the lab whose audit chain records the link (the user's lab)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: who issued the link (None: the command line)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: a newer link for the same user moves this to the time it was issued
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class IdempotencyKey(db.Model):
    """An ``Idempotency-Key`` a user sent with an API operation that writes, and the answer it
    got (:mod:`ballistics.auth.idempotency`).

    The row is inserted before the operation runs and given its answer before the request
    commits: the record the operation wrote and the answer that describes it are committed
    together, or neither is. A refused operation rolls both back, so only successes are kept.
    """

    __tablename__ = "idempotency_keys"
    __audit__ = False  # protocol state, not a lab record: the record it describes is audited
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the caller's lab (a user belongs to one; kept so a key's scope is named in full)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: keyed SHA-256 of the method, path, query and body (never the body itself: it may hold
    #: personal data)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: after this the key is forgotten (the periodic sweep deletes it; a lookup ignores it)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: the answer replayed: its status and JSON body (None only inside the first request)
    status: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)
