"""Who may use the upload page: one account per unit and one for the province, and how a login is checked.

Accounts are kept in the data directory, never in the repository: ``$SECTORSTATS_DATA_DIR/doors/upload_page.sqlite``
(created readable by its owner only), with the sessions (:mod:`.sessions`) and the record of failed logins. SQLite
rather than a JSON file because the command line (``python -m ingest accounts …``) changes accounts while the page
runs, and a password change or a disabled account must end that account's sessions in the same transaction.

A unit's account is named by the unit's code (``443``): the unit comes from the account, never from a form or a
URL. The province's account (default name ``province``) sees every unit and uploads for the unit it picks.

Passwords are generated (:func:`new_password`, printed once by the command line) and stored as scrypt hashes
(``hashlib.scrypt``, N=2^15, r=8, p=1: 32 MiB and about 0.13 s a check on the 2-core machine, costly for whoever
steals the file, cheap for one login), each with its own 16-byte salt and its parameters, so they can be raised
later; hashes are compared with ``hmac.compare_digest``. A login for a name that does not exist costs the same
scrypt, so the time of an answer does not tell which names exist.

Throttling: after :data:`MAX_FAILURES` failed logins for one account name, or from one client address, within
:data:`WINDOW` seconds, every login for that name or from that address is refused for :data:`LOCKOUT` seconds
without the password being checked (a guesser gets 5 tries per 15 minutes per name and per address). Behind a
reverse proxy the address is the one the proxy forwards (uvicorn's ``--forwarded-allow-ips``), else every district
would share the proxy's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.settings import data_dir

log = logging.getLogger(__name__)

UNIT, PROVINCE = "unit", "province"
DEFAULT_PROVINCE_NAME = "province"
MAX_FAILURES = 5
WINDOW = 15 * 60  # seconds in which MAX_FAILURES failures lock a name or an address
LOCKOUT = 15 * 60  # seconds a locked name or address is refused
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MAX_NAME = 64  # characters of a login name kept (and throttled on)
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I look-alikes
Clock = Callable[[], float]

SCHEMA = """
create table if not exists accounts (
    name text primary key,
    role text not null check (role in ('unit', 'province')),
    unit_code text,
    password_hash text not null,
    disabled integer not null default 0,
    created_at real not null,
    password_changed_at real not null
);
create table if not exists login_failures (key text not null, at real not null);
create index if not exists login_failures_key on login_failures (key, at);
create table if not exists lockouts (key text primary key, until real not null);
create table if not exists sessions (
    token_hash text primary key,
    account text not null references accounts (name),
    created_at real not null,
    last_seen real not null
);
create index if not exists sessions_account on sessions (account);
"""


def doors_dir() -> Path:
    """What the upload page keeps: accounts, sessions, the uploads' log, previews and feedback workbooks."""
    return data_dir() / "doors"


def database_path() -> Path:
    return doors_dir() / "upload_page.sqlite"


_READY: set[Path] = set()  # databases whose tables this process has made sure of


@contextlib.contextmanager
def database(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to the page's database, in one transaction (``BEGIN IMMEDIATE``: writers queue rather than
    fail), committed when the block ends; the file and its folder are created private on first use."""
    path = path or database_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        _READY.discard(path)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.execute("pragma foreign_keys = on")
        if path not in _READY:
            con.executescript(SCHEMA)
            _READY.add(path)
        con.execute("begin immediate")
        try:
            yield con
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
    finally:
        con.close()


# -- passwords -------------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_password() -> str:
    """A strong password a district can type: 20 characters in 5 groups (about 116 bits), no look-alikes."""
    chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(20))
    return "-".join(chars[i:i + 4] for i in range(0, 20, 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$N$r$p$salt$hash``: the parameters are kept with the hash, so raising them later keeps old ones
    valid."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=256 * int(n) * int(r), dklen=32)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # what a login for an unknown name is checked against


# -- accounts --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    name: str
    role: str  # unit | province
    unit_code: str | None  # the unit's code; None for the province
    disabled: bool = False
    created_at: float = 0.0
    password_changed_at: float = 0.0

    @property
    def is_province(self) -> bool:
        return self.role == PROVINCE

    def may_see(self, unit_code: str) -> bool:
        """Whether this account may see and upload ``unit_code``'s reports: its own unit's, or any for the
        province."""
        return self.is_province or unit_code == self.unit_code


class AccountError(ValueError):
    """An account cannot be added or changed as asked (exists already, unknown unit, no such account)."""


def account_from_row(row: tuple) -> Account:
    name, role, unit, disabled, created, changed = row
    return Account(name, role, unit, bool(disabled), created, changed)


ACCOUNT_COLUMNS = "name, role, unit_code, disabled, created_at, password_changed_at"


def normal_name(name: str) -> str:
    """A login name as typed, compared without surrounding spaces and case."""
    return " ".join(name.split()).casefold()[:MAX_NAME]


@dataclass(frozen=True)
class LoginResult:
    account: Account | None  # who logged in; None when refused
    reason: str = "ok"  # ok | wrong | throttled | disabled
    retry_after: float = 0.0  # seconds, when throttled


class AccountStore:
    """The accounts and the login throttle, in the page's database."""

    def __init__(self, path: Path | None = None, clock: Clock = time.time) -> None:
        self.path = path or database_path()
        self.clock = clock
        self._login_lock = threading.Lock()

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return database(self.path)

    # the command line ----------------------------------------------------------------------------------------

    def add(self, name: str, role: str, unit_code: str | None) -> tuple[Account, str]:
        """Add an account with a new password; returns it and the password (shown once, never stored)."""
        name = normal_name(name)
        if not name:
            raise AccountError("an account needs a name")
        password = new_password()
        now = self.clock()
        with self._db() as con:
            if con.execute("select 1 from accounts where name = ?", (name,)).fetchone():
                raise AccountError(f"account {name!r} exists already (`accounts password {name}` gives it a new "
                                   "password)")
            if role == UNIT and con.execute("select name from accounts where unit_code = ?", (unit_code,)).fetchone():
                raise AccountError(f"unit {unit_code} has an account already")
            con.execute(f"insert into accounts ({ACCOUNT_COLUMNS}, password_hash) values (?, ?, ?, 0, ?, ?, ?)",
                        (name, role, unit_code, now, now, hash_password(password)))
        log.info("upload page: account %s (%s %s) added", name, role, unit_code or "")
        return Account(name, role, unit_code, False, now, now), password

    def accounts(self) -> list[Account]:
        with self._db() as con:
            rows = con.execute(f"select {ACCOUNT_COLUMNS} from accounts "
                               "order by role = 'unit', length(name), name").fetchall()
        return [account_from_row(r) for r in rows]

    def get(self, name: str) -> Account | None:
        with self._db() as con:
            row = con.execute(f"select {ACCOUNT_COLUMNS} from accounts where name = ?", (normal_name(name),)).fetchone()
        return account_from_row(row) if row else None

    def set_disabled(self, name: str, disabled: bool) -> Account:
        """Disable (or enable again) an account; disabling ends its sessions at once."""
        with self._db() as con:
            if not con.execute("update accounts set disabled = ? where name = ?",
                               (int(disabled), normal_name(name))).rowcount:
                raise AccountError(f"no account {name!r}")
            if disabled:
                con.execute("delete from sessions where account = ?", (normal_name(name),))
        log.info("upload page: account %s %s", name, "disabled" if disabled else "enabled")
        account = self.get(name)
        assert account is not None
        return account

    def new_password(self, name: str) -> str:
        """Give an account a new password (returned once) and end its sessions."""
        password = new_password()
        with self._db() as con:
            if not con.execute("update accounts set password_hash = ?, password_changed_at = ? where name = ?",
                               (hash_password(password), self.clock(), normal_name(name))).rowcount:
                raise AccountError(f"no account {name!r}")
            con.execute("delete from sessions where account = ?", (normal_name(name),))
        log.info("upload page: account %s has a new password", name)
        return password

    # the login -----------------------------------------------------------------------------------------------

    def login(self, name: str, password: str, address: str) -> LoginResult:
        """Check a login, throttled by name and by client address (see the module's text). Logins are checked one
        at a time in the process, so guesses sent in parallel cannot slip past the count."""
        with self._login_lock:
            return self._login(name, password, address)

    def _login(self, name: str, password: str, address: str) -> LoginResult:
        name = normal_name(name)
        keys = [f"account:{name}", f"address:{address}"]
        now = self.clock()
        with self._db() as con:
            con.execute("delete from lockouts where until <= ?", (now,))
            con.execute("delete from login_failures where at <= ?", (now - WINDOW,))
            locked = con.execute(f"select max(until) from lockouts where key in ({', '.join('?' * len(keys))})",
                                 keys).fetchone()[0]
            if locked is not None:
                log.warning("upload page: login for %r from %s refused: throttled", name, address)
                return LoginResult(None, "throttled", locked - now)
            row = con.execute(f"select {ACCOUNT_COLUMNS}, password_hash from accounts where name = ?",
                              (name,)).fetchone()
        ok = verify_password(password, row[-1] if row else _DUMMY_HASH) and row is not None
        with self._db() as con:
            if not ok:
                for key in keys:
                    con.execute("insert into login_failures (key, at) values (?, ?)", (key, now))
                    failures = con.execute("select count(*) from login_failures where key = ? and at > ?",
                                           (key, now - WINDOW)).fetchone()[0]
                    if failures >= MAX_FAILURES:
                        con.execute("insert into lockouts (key, until) values (?, ?) on conflict (key) do update "
                                    "set until = excluded.until", (key, now + LOCKOUT))
                        log.warning("upload page: %s locked for %d s after %d failed logins", key, LOCKOUT, failures)
                log.info("upload page: failed login for %r from %s", name, address)
                return LoginResult(None, "wrong")
            con.execute("delete from login_failures where key = ?", (keys[0],))
        account = account_from_row(row[:-1])
        if account.disabled:
            return LoginResult(None, "disabled")
        log.info("upload page: %s logged in from %s", account.name, address)
        return LoginResult(account)
