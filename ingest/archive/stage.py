"""The archive stage: what is new at each door goes into the archive, and each arrival into ``raw.arrivals``.

The doors are the inbox folder (:mod:`ingest.archive.store`) and, when its connection exists, the department's
mailbox (:mod:`ingest.doors.mailbox`). Everything is recorded in one transaction; only after it commits are the
taken e-mails moved out of the mailbox's folder and their replies sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ingest import warehouse
from ingest.archive import store
from ingest.settings import data_dir, inbox_location

if TYPE_CHECKING:
    from ingest.doors.announcements import Delivered
    from ingest.doors.mailbox import MailboxConfig, Session

log = logging.getLogger(__name__)


def archive_stage(load_id: str, inbox: Path | None = None,
                  announced: Mapping[tuple[str, str], Delivered] | None = None) -> dict[str, int | str]:
    """Archive what is new in the inbox (local, or ``SECTORSTATS_INBOX_URL``) and in the mailbox, record each
    arrival in ``raw.arrivals`` and the load's start in ``raw.loads``. ``announced``: the files the upload page
    announced it delivered whole (:func:`ingest.doors.announcements.announced_files`), taken without the settle
    wait."""
    from ingest.doors import mailbox
    from ingest.tell import alerts

    inbox = inbox or inbox_location()
    config = mailbox.mailbox_config()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    mail = mailbox.MailIntake()
    with warehouse.connect() as con, _mailbox_session(config) as (imap, unreachable):
        warehouse.ensure_schema(con)
        known_rows = warehouse.execute(
            con, "select folder_unit_code, file_name, size_bytes, mtime_ns, sha256 from raw.arrivals").fetchall()
        known = {(f, n, int(s), int(m)): h for f, n, s, m, h in known_rows}
        known_sha = {h for *_, h in known_rows}
        arrivals, seen = store.archive_inbox(inbox, data_dir(), known, known_sha, announced=announced)
        if imap is not None:
            mail = mailbox.pull(imap, *_mail_ledger(con, config.name), known_sha | {a.sha256 for a in arrivals},
                                load_id, data_dir(), alerts.recipients(), now)
            arrivals += mail.arrivals
        frame = pd.DataFrame([dataclasses.asdict(a) for a in arrivals],
                             columns=[f.name for f in dataclasses.fields(store.Arrival)])
        frame["load_id"] = load_id
        warehouse.insert_frame(con, "raw.arrivals", frame)
        warehouse.insert_frame(con, "raw.mail_messages", mail.frame())
        warehouse.execute(con, "delete from raw.loads where load_id = :load_id", {"load_id": load_id})
        warehouse.execute(con, """insert into raw.loads (load_id, started_at, files_seen, files_new)
                                  values (:load_id, :started_at, :seen, :new)""",
                          {"load_id": load_id, "started_at": now, "seen": seen + len(mail.arrivals),
                           "new": len(arrivals)})
        if mail.receipts:  # the replies go into the outbox in the same transaction
            alerts.record(con, mail.receipts, now, {c: alerts.connection_exists(alerts.channel_conn_id(c))
                                                   for c in alerts.CHANNELS})
        con.commit()
        if mail.messages:
            log.info("archive: %d e-mail(s) recorded with their %d file(s); moving them out of the mailbox folder",
                     len(mail.messages), len(mail.arrivals))
        replies: dict[str, int] = {}
        if imap is not None:  # only now: a kill before this commit takes the same messages again
            for folder, uids in mail.moves.items():
                imap.move(uids, folder)
            replies = alerts.deliver(con, now, kinds=[alerts.RECEIPT])  # these, and any an earlier run owes
    duplicates = sum(a.is_duplicate for a in arrivals)
    log.info("archive: %d files in the inbox, %d e-mails in the mailbox, %d new arrivals (%d duplicates)", seen,
             mail.seen, len(arrivals), duplicates)
    out: dict[str, int | str] = {"load_id": load_id, "files_seen": seen, "files_new": len(arrivals),
                                 "duplicates": duplicates, "messages": len(mail.messages),
                                 "replies_sent": replies.get("sent", 0)}
    if unreachable:
        out["mailbox_unreachable"] = unreachable
    return out


def _mail_ledger(con: warehouse.Connection, mailbox_name: str) -> tuple[dict[str, str], set[str]]:
    """The messages of this mailbox already recorded (key → outcome), and every raw message already taken."""
    rows = warehouse.execute(con, "select message_key, outcome, sha256, mailbox from raw.mail_messages").fetchall()
    return ({k: o for k, o, _, m in rows if m == mailbox_name},
            {s for _, o, s, _ in rows if s and o != "quarantined"})


@contextlib.contextmanager
def _mailbox_session(config: MailboxConfig | None) -> Iterator[tuple[Session | None, str]]:
    """The mailbox session (None without a mailbox), and why the mailbox could not be reached. A mail server that
    is down or unreachable delays the e-mails (they wait on the server) and must not stop the folder's files: the
    load goes on without it, loudly. A refused login is a configuration error, and fails the run."""
    from ingest.doors import mailbox

    if config is None:
        yield None, ""
        return
    try:
        session = mailbox.Session(config)
    except OSError as exc:  # refused, reset, timed out, no route: an outage
        log.error("mailbox %s could not be reached (%s: %s): its e-mails wait on the server for the next run",
                  config.name, type(exc).__name__, exc)
        yield None, f"{type(exc).__name__}: {exc}"
        return
    try:
        yield session, ""
    finally:
        session.close()
