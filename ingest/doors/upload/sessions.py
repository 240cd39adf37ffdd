"""Server-side sessions of the upload page, and the CSRF token of each.

A login creates a session: a random 32-byte token, sent to the browser once in an ``HttpOnly``, ``SameSite=Strict``
cookie (``Secure`` over HTTPS, see :mod:`.app`) and kept in the database only as its SHA-256, so a copy of the
database opens no session. A session ends :data:`IDLE` seconds after its last request (30 minutes) and
:data:`ABSOLUTE` seconds after the login whatever happens (8 hours), at logout, and when its account is disabled or
given a new password (:mod:`.accounts`). Nothing else is kept in it: the account's unit is read from the account at
every request.

The CSRF token of a session is an HMAC of its token: it goes in every form, is checked on every POST, and needs no
storage; knowing it does not give the session token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.doors.upload.accounts import ACCOUNT_COLUMNS, Account, Clock, account_from_row, database, database_path

IDLE = 30 * 60
ABSOLUTE = 8 * 60 * 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret: str) -> str:
    """The CSRF token that goes with the session (or the login form's) token ``secret``."""
    mac = hmac.new(secret.encode(), b"sectorstats upload page csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    token: str
    account: Account
    created_at: float
    last_seen: float

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


class SessionStore:
    def __init__(self, path: Path | None = None, clock: Clock = time.time) -> None:
        self.path = path or database_path()
        self.clock = clock

    def create(self, account: Account) -> Session:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with database(self.path) as con:
            con.execute("delete from sessions where last_seen <= ? or created_at <= ?", (now - IDLE, now - ABSOLUTE))
            con.execute("insert into sessions (token_hash, account, created_at, last_seen) values (?, ?, ?, ?)",
                        (_hash(token), account.name, now, now))
        return Session(token, account, now, now)

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token`` (its idle clock restarted), or None: unknown, expired, or its account
        disabled."""
        if not token or len(token) > 100:
            return None
        now = self.clock()
        key = _hash(token)
        columns = ", ".join(f"a.{c.strip()}" for c in ACCOUNT_COLUMNS.split(","))
        with database(self.path) as con:
            row = con.execute(f"select s.created_at, s.last_seen, {columns} from sessions s "
                              "join accounts a on a.name = s.account where s.token_hash = ?", (key,)).fetchone()
            if row is None:
                return None
            created, last_seen, *rest = row
            account = account_from_row(tuple(rest))
            if account.disabled or now - last_seen >= IDLE or now - created >= ABSOLUTE:
                con.execute("delete from sessions where token_hash = ?", (key,))
                return None
            con.execute("update sessions set last_seen = ? where token_hash = ?", (now, key))
        return Session(token, account, created, now)

    def end(self, token: str | None) -> None:
        if token:
            with database(self.path) as con:
                con.execute("delete from sessions where token_hash = ?", (_hash(token),))
