"""The one reply every e-mail gets: what was taken from it (with each file's receipt code) or why nothing was.

A reply is an alert of kind ``receipt`` (``alerts.yaml``), written to the outbox in the transaction that records
the message and sent after it commits, so an outage delays it and never drops it, and a rerun never sends it twice.
Its words are data: the frame in ``alerts.yaml``, the lines in ``doors.yaml``. It goes to the From address only
(never to a Reply-To, which anyone can set), and never to an automatic message (RFC 3834).
"""

from __future__ import annotations

import datetime as dt

from ingest.catalogue import load_catalogue
from ingest.doors.attachments import MailMessage
from ingest.doors.rules import door_rules
from ingest.read.limits import human_bytes
from ingest.tell.alerts import RECEIPT, Alert, alert_id_for, render_alert


def receipt_code(sha256: str) -> str:
    """What the reply calls a file: the start of its sha256, which is also its submission id once read."""
    return sha256[:16]


def receipt(message_key: str, message: MailMessage, unit_code: str | None, received: dt.datetime,
            taken: list[tuple[str, str, bool]], reason: str, max_message_bytes: int) -> Alert:
    """The reply to one message: ``taken`` lists (name, sha256, was already received) of each file taken;
    ``reason`` is why nothing was taken (a code of ``doors.yaml`` → ``not_taken``), else empty."""
    rules = door_rules()
    cat = load_catalogue()
    local = received.replace(tzinfo=dt.UTC).astimezone(cat.tz)
    when = f"{local:%d/%m/%Y %H:%M}"
    lines: list[tuple[str, str]] = []
    if reason:
        lines.append(rules.say("not_taken", reason, sender=message.sender, limit=human_bytes(max_message_bytes)))
    for name, sha, duplicate in taken:
        lines.append(rules.say("taken", "duplicate" if duplicate else "new", name=name, receipt=receipt_code(sha)))
    if not reason:
        for n in message.not_taken:
            lines.append(rules.say("not_taken", n.reason, name=n.name, limit=n.limit, zip=n.within))
    subject, body = render_alert(RECEIPT, subject=message.subject or "(không có tiêu đề / no subject)", received=when,
                            lines_vi="\n".join(f"- {vi}" for vi, _ in lines),
                            lines_en="\n".join(f"- {en}" for _, en in lines))
    why = reason or f"{len(taken)} file(s) taken"
    return Alert(alert_id_for(RECEIPT, message_key), RECEIPT, unit_code or None, None, None, (message.sender,),
                 subject, body, f"reply to {message.sender}: {why}", in_reply_to=message.message_id or None)
