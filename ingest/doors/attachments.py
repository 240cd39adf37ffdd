"""An e-mail as the mailbox door sees it: who says they sent it, and the report files it carries.

:func:`read_message` takes the raw bytes of one message (RFC 5322, MIME) and returns its sender, subject and ids,
the spreadsheets attached to it (also those inside a forwarded message and inside a ``.zip``) and every other
attachment with the reason it was not taken. File names are data: decoded (RFC 2231 parameters, RFC 2047 words,
the code page of an old zip tool), normalised to NFC, never used as a path.

It reads untrusted bytes, so the mailbox runs it in a worker process under the limits of
:mod:`ingest.read.limits` (:func:`ingest.read.workers.map_in_workers`); a zip is opened only after its directory
says what it would cost (members, sizes, compression ratio), and a member is read no further than the limit.
"""

from __future__ import annotations

import contextlib
import email
import email.header
import email.policy
import email.utils
import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from ingest.doors.rules import DoorRules, door_rules
from ingest.read.limits import Limits, human_bytes


@dataclass(frozen=True)
class Attachment:
    """A spreadsheet found in a message."""

    name: str  # as the sender named it (a zip member: its own name, without the zip's folders)
    data: bytes
    within: str = ""  # the zip attachment it came from, if any


@dataclass(frozen=True)
class NotTaken:
    """An attachment that was not taken, and why (a code of ``doors.yaml`` → ``not_taken``)."""

    name: str
    reason: str
    limit: str = ""
    within: str = ""


@dataclass(frozen=True)
class MailMessage:
    message_id: str  # the Message-ID header, or "" when there is none
    sender: str  # the From address, lower-case; "" when there is not exactly one
    sender_name: str
    subject: str
    automatic: bool  # an auto-reply, a bounce or a list message: never answered (RFC 3834)
    authentication_results: str  # the topmost Authentication-Results header, or ""
    attachments: tuple[Attachment, ...] = ()
    not_taken: tuple[NotTaken, ...] = ()
    defects: tuple[str, ...] = field(default=())


def clean_name(name: str, fallback: str = "tep-dinh-kem") -> str:
    """A file name as stored and shown: NFC, control characters dropped, folders removed, at most 200
    characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or fallback


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header the policy cannot parse: treat it as absent
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _sender(msg: Message) -> tuple[str, str]:
    """The one From address (lower-case) and its display name; ("", "") when there is not exactly one."""
    try:
        raw = msg.get_all("From") or []
    except Exception:
        return "", ""
    pairs = email.utils.getaddresses([str(v) for v in raw])
    addresses = [(n, a) for n, a in pairs if a and "@" in a]
    if len(addresses) != 1 or len(raw) != 1:
        return "", ""
    display, address = addresses[0]
    return address.strip().lower(), " ".join(display.split())[:200]


def is_automatic(msg: Message, sender: str) -> bool:
    """An auto-reply, a delivery report or a list/bulk message (RFC 3834 §2): answering it could start a mail
    loop."""
    auto = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    local = sender.split("@", 1)[0]
    return ((auto not in ("", "no")) or precedence in ("bulk", "list", "junk") or bool(_header(msg, "List-Id"))
            or local in ("mailer-daemon", "postmaster") or msg.get_content_type() == "multipart/report")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            name = part.get_param("name")  # Content-Type's name: what some old clients set instead
            name = email.utils.collapse_rfc2231_value(name) if name else None
        except Exception:
            name = None
    if name and "=?" in name:  # an RFC 2047 word inside a quoted parameter: not standard, but common
        with contextlib.suppress(Exception):
            name = str(email.header.make_header(email.header.decode_header(name)))
    return clean_name(str(name)) if name else ""


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    return data if isinstance(data, bytes) else b""


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its zip tool meant it: zips made on Vietnamese Windows store names in the local code
    page without saying so, which Python reads as cp437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437", "replace")
        for codec in ("utf-8", "cp1258"):
            try:
                name = raw.decode(codec)
                break
            except UnicodeDecodeError:
                continue
    return clean_name(name)


def open_zip(name: str, data: bytes, limits: Limits, rules: DoorRules) -> tuple[list[Attachment], list[NotTaken]]:
    """The spreadsheets inside a zip attachment, or why it was not opened. The directory is checked first
    (members, declared sizes, compression ratio); each member is then read no further than its declared size
    allows and the limit."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return [], [NotTaken(name, "zip-unreadable")]
    declared = sum(i.file_size for i in infos)
    too_much = human_bytes(limits.max_unpacked_bytes)
    if len(infos) > limits.max_zip_members:
        return [], [NotTaken(name, "zip-too-large", f"{limits.max_zip_members} tệp / files")]
    if declared > limits.max_unpacked_bytes:
        return [], [NotTaken(name, "zip-too-large", too_much)]
    for i in infos:
        if i.file_size > limits.ratio_grace_bytes and i.file_size > limits.max_compression_ratio * max(
                i.compress_size, 1):
            return [], [NotTaken(name, "zip-too-large", f"{limits.max_compression_ratio:.0f}:1")]
    taken: list[Attachment] = []
    skipped: list[NotTaken] = []
    total = 0
    for i in infos:
        member = _zip_member_name(i)
        if rules.is_archive(member):
            skipped.append(NotTaken(member, "zip-in-zip", within=name))
            continue
        if not rules.is_spreadsheet(member):
            skipped.append(NotTaken(member, "not-spreadsheet", within=name))
            continue
        if i.file_size > limits.max_file_bytes:
            skipped.append(NotTaken(member, "attachment-too-large", human_bytes(limits.max_file_bytes), name))
            continue
        try:
            with zf.open(i) as fh:
                content = fh.read(min(i.file_size, limits.max_file_bytes) + 1)
        except (zipfile.BadZipFile, RuntimeError, OSError, ValueError, NotImplementedError, EOFError):
            return [], [NotTaken(name, "zip-unreadable")]  # encrypted, damaged, or an unknown compression
        total += len(content)
        if len(content) > i.file_size or total > limits.max_unpacked_bytes:  # the directory lied
            return [], [NotTaken(name, "zip-too-large", too_much)]
        taken.append(Attachment(member, content, within=name))
    return taken, skipped


def _parts(msg: Message) -> list[Message]:
    """Every leaf part, forwarded messages (``message/rfc822``) included, in order."""
    out: list[Message] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        out.append(part)
    return out


def read_message(raw: bytes, limits: Limits, rules: DoorRules | None = None) -> MailMessage:
    """The sender, subject, ids and report files of one message (see the module's text)."""
    rules = rules or door_rules()
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
    sender, display = _sender(msg)
    attachments: list[Attachment] = []
    skipped: list[NotTaken] = []
    for part in _parts(msg):
        name = _filename(part)
        media = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if not name:
            if disposition != "attachment" and (part.get_content_maintype() in ("text", "image", "multipart")
                                                or media == "application/pgp-signature"):
                continue  # the message's text, an inline picture, a signature
            name = clean_name("", f"tep-dinh-kem.{media.rsplit('/', 1)[-1]}")
        if rules.is_archive(name, media):
            data = _payload(part)
            if len(data) > limits.max_file_bytes:
                skipped.append(NotTaken(name, "attachment-too-large", human_bytes(limits.max_file_bytes)))
                continue
            inner, not_inner = open_zip(name, data, limits, rules)
            attachments += inner
            skipped += not_inner
        elif rules.is_spreadsheet(name, media):
            attachments.append(Attachment(name, _payload(part)))  # a too-large file is refused by the reader
        elif disposition == "inline" and part.get_content_maintype() == "image":
            continue
        else:
            skipped.append(NotTaken(name, "not-spreadsheet"))
    results = [str(v) for v in (msg.get_all("Authentication-Results") or [])] if _safe_has(msg) else []
    return MailMessage(
        message_id=_header(msg, "Message-ID")[:500], sender=sender, sender_name=display,
        subject=_header(msg, "Subject")[:500], automatic=is_automatic(msg, sender),
        authentication_results=" ".join(results[0].split())[:2000] if results else "",
        attachments=tuple(attachments), not_taken=tuple(skipped),
        defects=tuple(sorted({type(d).__name__ for d in msg.defects})))


def _safe_has(msg: Message) -> bool:
    try:
        return msg.get_all("Authentication-Results") is not None
    except Exception:
        return False
