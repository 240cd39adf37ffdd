"""The department's mailbox: reports that arrive as e-mail attachments, pulled over IMAP.

Each run of the archive stage (:func:`ingest.archive.stage.archive_stage`) takes what is new in the mailbox's
folder (``INBOX``), in three steps that make every message count once, whatever is killed when:

1. **fetch**: every message still in the folder whose (UIDVALIDITY, UID) and whose bytes are not yet in the ledger
   is fetched without marking it read (``BODY.PEEK[]``; a message over ``SECTORSTATS_MAX_MESSAGE_MB``, whose size
   the server tells first, only its header). Its raw bytes go into the archive like any file, and its attachments
   are read in a worker process (:mod:`ingest.doors.attachments`) under the reading limits;
2. **record**: in the caller's transaction, one row per message in ``raw.mail_messages`` (who sent it, the server's
   INTERNALDATE, what was taken and what not, and why), one arrival per spreadsheet taken (its unit is the
   sender's; its ``received_at`` is the INTERNALDATE, so lateness never depends on when the DAG ran), and the
   message's reply in the alerts outbox (kind ``receipt``);
3. **after the commit**: the message is moved out of the folder (to ``Sectorstats/Taken``, or to
   ``Sectorstats/Quarantine`` when its sender is unknown or unauthenticated: kept for the department, never
   loaded) and the replies are sent (an outage leaves them owed, like every alert).

A run killed before 2 fetches the same messages again (the archive keeps one copy of each content); one killed
between 2 and 3 finds them in the ledger and only moves them. Messages are never deleted.

The connection is the Airflow connection ``SECTORSTATS_IMAP_CONN_ID`` (default ``imap_sectorstats``): host, port,
login, password, and in ``extra`` ``security`` (``ssl``, the default, ``starttls`` or ``none``), ``folder``
(``INBOX``), ``taken_folder`` and ``quarantine_folder``. Without that connection there is no mailbox door and the
stage does nothing here. imaplib is used rather than the IMAP provider's hook: the door needs UIDs, UIDVALIDITY,
INTERNALDATE, ``BODY.PEEK`` and ``MOVE``, which the hook does not expose.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import imaplib
import logging
import os
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from ingest.archive import store
from ingest.doors import receipts
from ingest.doors.attachments import MailMessage, read_message
from ingest.doors.senders import check_sender, mail_authserv_id, sender_units
from ingest.read.limits import Limits, current_limits
from ingest.warehouse.tables import table

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "imap_sectorstats"
TAKEN, NOTHING_TAKEN, QUARANTINED = "taken", "nothing-taken", "quarantined"
"""``raw.mail_messages.outcome``: files were taken; nothing was (no spreadsheet, too large); held back, never
loaded (sender unknown or not authenticated)."""
HEADER_BYTES = 64 * 1024  # what is fetched of a message too large to fetch whole: enough for any real header


def mailbox_conn_id() -> str:
    return os.environ.get("SECTORSTATS_IMAP_CONN_ID", DEFAULT_CONN_ID).strip() or DEFAULT_CONN_ID


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    login: str
    password: str = field(repr=False)
    security: str = "ssl"  # ssl | starttls | none
    folder: str = "INBOX"
    taken_folder: str = "Sectorstats/Taken"
    quarantine_folder: str = "Sectorstats/Quarantine"
    timeout: float = 60.0

    @property
    def name(self) -> str:
        """How the ledger names this mailbox folder (no password)."""
        return f"{self.login}@{self.host}:{self.port}/{self.folder}"


def mailbox_config(conn_id: str | None = None) -> MailboxConfig | None:
    """The mailbox of the Airflow connection, or None when there is no such connection (no mailbox door)."""
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id or mailbox_conn_id())
    except Exception:  # no such connection: the door is closed
        return None
    extra = conn.extra_dejson or {}
    security = str(extra.get("security", "ssl")).lower()
    if security not in ("ssl", "starttls", "none"):
        raise ValueError(f"connection {conn_id or mailbox_conn_id()}: extra.security must be ssl, starttls or none, "
                         f"not {security!r}")
    default_port = 993 if security == "ssl" else 143
    return MailboxConfig(
        host=conn.host or "localhost", port=int(conn.port or default_port), login=conn.login or "",
        password=conn.password or "", security=security, folder=str(extra.get("folder", "INBOX")),
        taken_folder=str(extra.get("taken_folder", MailboxConfig.taken_folder)),
        quarantine_folder=str(extra.get("quarantine_folder", MailboxConfig.quarantine_folder)),
        timeout=float(extra.get("timeout", 60)))


# -- the IMAP session ------------------------------------------------------------------------------------------

_FETCH_ITEM = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")


def internaldate(text: str) -> dt.datetime:
    """``06-Dec-2026 14:20:05 +0700`` → the UTC moment (naive, as the warehouse stores times)."""
    moment = dt.datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def quote(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (names are ASCII here: modified UTF-7 is not needed)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapError(RuntimeError):
    """The mailbox answered something else than OK."""


class Session:
    """One logged-in IMAP connection with the folder selected for writing."""

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        if config.security == "ssl":
            self.imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(config.host, config.port, timeout=config.timeout,
                                                         ssl_context=ssl.create_default_context())
        else:
            self.imap = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
            if config.security == "starttls":
                self.imap.starttls(ssl.create_default_context())
        self.imap.login(config.login, config.password)
        self.capabilities = set(self._ok(self.imap.capability())[0].decode().upper().split())
        data = self._ok(self.imap.select(quote(config.folder)))
        del data
        validity = self.imap.response("UIDVALIDITY")[1]
        if not validity or not validity[0]:
            raise ImapError(f"{config.name}: the server gave no UIDVALIDITY")
        self.uidvalidity = int(validity[0])
        self.delimiter = self._delimiter()

    @staticmethod
    def _ok(answer: tuple[str, list]) -> list:
        status, data = answer
        if status != "OK":
            raise ImapError(f"{status}: {data!r}"[:300])
        return data

    def _delimiter(self) -> str:
        for line in self._ok(self.imap.list('""', '""')):
            match = re.match(rb'\([^)]*\) "(.)"', line or b"")
            if match:
                return match.group(1).decode()
        return "/"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.imap.close()
        with contextlib.suppress(Exception):
            self.imap.logout()

    def uids(self) -> list[int]:
        data = self._ok(self.imap.uid("SEARCH", "ALL"))
        return sorted(int(u) for u in (data[0] or b"").split())

    def envelope(self, uids: list[int]) -> dict[int, tuple[int, dt.datetime]]:
        """Size and INTERNALDATE of each message, in one round trip."""
        out: dict[int, tuple[int, dt.datetime]] = {}
        if not uids:
            return out
        for line in self._ok(self.imap.uid("FETCH", _set(uids), "(UID RFC822.SIZE INTERNALDATE)")):
            raw = line[0] if isinstance(line, tuple) else line
            if not raw:
                continue
            uid = size = when = None
            for u, s, d in _FETCH_ITEM.findall(raw):
                uid = int(u) if u else uid
                size = int(s) if s else size
                when = internaldate(d.decode()) if d else when
            if uid is not None and size is not None and when is not None:
                out[uid] = (size, when)
        return out

    def counts(self, folders: list[str]) -> dict[str, int | None]:
        """How many messages each folder holds (None: it does not exist yet), without selecting it."""
        out: dict[str, int | None] = {}
        for name in folders:
            status, data = self.imap.status(quote(name.replace("/", self.delimiter)), "(MESSAGES)")
            match = re.search(rb"MESSAGES (\d+)", data[0] or b"") if status == "OK" and data else None
            out[name] = int(match.group(1)) if match else None
        return out

    def fetch(self, uid: int, limit: int | None = None) -> bytes:
        """The message's bytes (or its first ``limit`` bytes of header), without marking it read."""
        part = f"BODY.PEEK[HEADER]<0.{limit}>" if limit else "BODY.PEEK[]"
        for item in self._ok(self.imap.uid("FETCH", str(uid), f"({part})")):
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        raise ImapError(f"{self.config.name}: message UID {uid} is gone")

    def folder(self, name: str) -> str:
        """``name`` with "/" as this server's hierarchy delimiter, created when missing."""
        mailbox = name.replace("/", self.delimiter)
        status, _ = self.imap.create(quote(mailbox))
        if status != "OK":  # most often: it exists already
            log.debug("mailbox %s: CREATE answered %s", mailbox, status)
        return mailbox

    def move(self, uids: list[int], folder: str) -> None:
        """Move messages to ``folder``: MOVE where the server has it, else COPY, flag and expunge them."""
        if not uids:
            return
        target = quote(self.folder(folder))
        if "MOVE" in self.capabilities:
            self._ok(self.imap.uid("MOVE", _set(uids), target))
            return
        self._ok(self.imap.uid("COPY", _set(uids), target))
        self._ok(self.imap.uid("STORE", _set(uids), "+FLAGS.SILENT", r"(\Deleted)"))
        if "UIDPLUS" in self.capabilities:
            self._ok(self.imap.uid("EXPUNGE", _set(uids)))
        else:
            self._ok(self.imap.expunge())


def _set(uids: list[int]) -> str:
    return ",".join(str(u) for u in uids)


@contextlib.contextmanager
def session(config: MailboxConfig) -> Iterator[Session]:
    s = Session(config)
    try:
        yield s
    finally:
        s.close()


# -- one pull --------------------------------------------------------------------------------------------------

@dataclass
class MailIntake:
    """What one pull found, to record in the caller's transaction, then to finish after the commit."""

    arrivals: list[store.Arrival] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    receipts: list = field(default_factory=list)  # ingest.tell.alerts.Alert
    moves: dict[str, list[int]] = field(default_factory=dict)  # folder → UIDs
    seen: int = 0

    def frame(self) -> pd.DataFrame:
        columns = table("raw.mail_messages").names
        return pd.DataFrame(self.messages, columns=columns).astype(
            {"received_at": "datetime64[us]", "recorded_at": "datetime64[us]", "uidvalidity": "int64",
             "uid": "int64", "size_bytes": "int64", "files_taken": "int32"})


def message_key(mailbox: str, uidvalidity: int, uid: int) -> str:
    return hashlib.sha256(f"{mailbox}\x00{uidvalidity}\x00{uid}".encode()).hexdigest()[:20]


def _read_in_worker(item: tuple[str | None, bytes]) -> MailMessage:
    """In a worker process: the message archived at ``item[0]``, or, for one too large to fetch, its header
    ``item[1]`` alone (no attachment), read under the limits in force."""
    path, header = item
    limits = current_limits()
    if path is None:
        message = read_message(header + b"\r\n\r\n", limits)
        return MailMessage(message.message_id, message.sender, message.sender_name, message.subject,
                           message.automatic, message.authentication_results)
    with open(path, "rb") as fh:
        return read_message(fh.read(), limits)


def pull(s: Session, known: dict[str, str], taken_sha256: set[str], known_file_sha256: set[str], load_id: str,
         data_dir: os.PathLike[str] | str, recipients_spec: dict, now: dt.datetime, *,
         limits: Limits | None = None, workers: int | None = None) -> MailIntake:
    """Take what is new in the selected folder (see the module's text, step 1).

    ``known``: message keys already in the ledger → their outcome (moved again, not fetched); ``taken_sha256``:
    raw messages already taken (the same message found again after the mailbox was rebuilt, UIDVALIDITY new);
    ``known_file_sha256``: files already archived (an attachment sent again is a duplicate)."""
    from pathlib import Path

    from ingest.read.workers import map_in_workers

    limits = limits or current_limits()
    data_dir = Path(data_dir)
    intake = MailIntake()
    config = s.config
    uids = s.uids()
    intake.seen = len(uids)
    fresh: list[int] = []
    for uid in uids:
        outcome = known.get(message_key(config.name, s.uidvalidity, uid))
        if outcome is None:
            fresh.append(uid)
        else:  # recorded by a run killed before it could move it
            intake.moves.setdefault(_destination(config, outcome), []).append(uid)
    envelopes = s.envelope(fresh)
    from ingest.catalogue import load_catalogue

    addresses = sender_units(recipients_spec, load_catalogue().province_code)
    authserv = mail_authserv_id()
    staged: list[store.Staged] = []
    fetched: list[tuple[int, int, dt.datetime, str | None, bytes]] = []
    try:
        for uid in fresh:
            if uid not in envelopes:
                log.warning("mailbox %s: message UID %d vanished before it was fetched", config.name, uid)
                continue
            size, received = envelopes[uid]
            if size > limits.max_message_bytes:
                header = s.fetch(uid, HEADER_BYTES)
                fetched.append((uid, size, received, None, header))
                continue
            raw = s.fetch(uid)
            st = store.stage_bytes(raw, data_dir)
            staged.append(st)
            fetched.append((uid, size, received, st.sha256, b""))
        store.publish(staged)
        staged = []
    finally:
        for st in staged:
            if st.temp is not None:
                st.temp.unlink(missing_ok=True)
    items = [(None if sha is None else str(data_dir / store.archive_relpath(sha)), header)
             for _, _, _, sha, header in fetched]
    readings = list(map_in_workers(items, _read_in_worker, workers=workers, limits=limits))
    file_sha_seen = set(known_file_sha256)
    files_staged: list[store.Staged] = []  # made durable together below, before the caller records them
    for (uid, size, received, sha, _), reading in zip(fetched, readings, strict=True):
        key = message_key(config.name, s.uidvalidity, uid)
        if sha is not None and sha in taken_sha256:  # this very message was taken before (the mailbox was rebuilt)
            intake.moves.setdefault(config.taken_folder, []).append(uid)
            intake.messages.append(_row(key, config, s.uidvalidity, uid, sha, size, received, load_id, now,
                                        None, TAKEN, "already-taken", 0, "", None))
            continue
        if not isinstance(reading, MailMessage):  # the worker gave up on it (time, memory): kept aside, untold
            log.error("mailbox %s: message UID %d could not be read (%s); quarantined", config.name, uid,
                      getattr(reading, "rule", reading))
            intake.messages.append(_row(key, config, s.uidvalidity, uid, sha, size, received, load_id, now,
                                        None, QUARANTINED, "message-unreadable", 0, "", None))
            intake.moves.setdefault(config.quarantine_folder, []).append(uid)
            continue
        check = check_sender(reading.sender, reading.authentication_results, addresses, authserv)
        taken_lines: list[tuple[str, str, bool]] = []
        reason = check.reason
        files = 0
        if not reason and sha is None:
            reason = "message-too-large"
        if not reason:
            for index, att in enumerate(reading.attachments):
                st = store.stage_bytes(att.data, data_dir)
                files_staged.append(st)
                duplicate = st.sha256 in file_sha_seen
                file_sha_seen.add(st.sha256)
                intake.arrivals.append(_arrival(key, index, att.name, st.sha256, len(att.data), received,
                                                check.unit_code or "", duplicate))
                taken_lines.append((att.name, st.sha256, duplicate))
                files += 1
            if not files:
                reason = "no-attachment"
        outcome = QUARANTINED if check.reason else TAKEN if files else NOTHING_TAKEN
        not_taken = "\n".join(f"{n.name}: {n.reason}" for n in reading.not_taken)
        receipt = None
        if not reading.automatic and reading.sender:
            receipt = receipts.receipt(key, reading, check.unit_code, received, taken_lines, reason,
                                       limits.max_message_bytes)
            intake.receipts.append(receipt)
        intake.messages.append(_row(key, config, s.uidvalidity, uid, sha, size, received, load_id, now, reading,
                                    outcome, reason or None, files, not_taken, receipt, check.unit_code))
        intake.moves.setdefault(_destination(config, outcome), []).append(uid)
        log.info("mailbox %s: message UID %d from %s: %s%s (%d file(s))", config.name, uid,
                 reading.sender or "?", outcome, f" ({reason})" if reason else "", files)
    store.publish(files_staged)
    return intake


def _destination(config: MailboxConfig, outcome: str) -> str:
    return config.quarantine_folder if outcome == QUARANTINED else config.taken_folder


def _arrival(key: str, index: int, name: str, sha256: str, size: int, received: dt.datetime, unit: str,
             duplicate: bool) -> store.Arrival:
    mtime_ns = int((received - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000_000
    return store.Arrival(
        arrival_id=hashlib.sha256(f"mail\x00{key}\x00{index}\x00{sha256}".encode()).hexdigest()[:20],
        sha256=sha256, folder_unit_code=unit, file_name=name, size_bytes=size, mtime_ns=mtime_ns,
        received_at=received, archive_path=store.archive_relpath(sha256), is_duplicate=duplicate, message_key=key)


def _row(key: str, config: MailboxConfig, uidvalidity: int, uid: int, sha: str | None, size: int,
         received: dt.datetime, load_id: str, now: dt.datetime, reading: MailMessage | None, outcome: str,
         reason: str | None, files: int, not_taken: str, receipt, unit: str | None = None) -> dict:
    return {"message_key": key, "mailbox": config.name, "uidvalidity": uidvalidity, "uid": uid, "sha256": sha,
            "message_id": reading.message_id if reading else None,
            "sender": reading.sender if reading else None, "sender_unit_code": unit,
            "subject": reading.subject if reading else None, "received_at": received, "size_bytes": size,
            "outcome": outcome, "reason": reason, "files_taken": files, "not_taken": not_taken or None,
            "receipt_alert_id": receipt.alert_id if receipt else None, "load_id": load_id, "recorded_at": now}
