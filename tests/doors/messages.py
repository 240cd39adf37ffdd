"""E-mails as districts' mail programs write them, built with the standard library (real MIME, no shortcuts)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from ingest.catalogue import load_catalogue
from ingest.tell.official_forms import write_form
from tests.integration.helpers import consistent_values

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CAN_LOC = "443"  # Huyện Can Lộc: phongldtbxh.canloc@example.invalid in recipients.yaml
CAN_LOC_ADDRESS = "phongldtbxh.canloc@example.invalid"
HONG_LINH_ADDRESS = "phongldtbxh.honglinh@example.invalid"
PROVINCE_ADDRESS = "thongke@soldtbxh.example.invalid"


def form_bytes(tmp: Path, form_code: str = "01/LĐVL-H", unit_code: str = CAN_LOC,
               period: dt.date = dt.date(2024, 2, 1), seed: int = 1) -> bytes:
    """A correct report, as the official form filled in."""
    cat = load_catalogue()
    form = cat.form(form_code)
    path = tmp / f"form-{seed}-{unit_code}-{period:%Y%m}.xlsx"
    write_form(path, form, cat.unit(unit_code), period, consistent_values(form, seed, period.month))
    return path.read_bytes()


def message(sender: str = CAN_LOC_ADDRESS, subject: str = "Báo cáo tháng 2/2024",
            attachments: list[tuple[str, bytes, str]] | None = None, *, when: dt.datetime | None = None,
            headers: dict[str, str] | None = None, text: str = "Kính gửi Sở, đơn vị gửi báo cáo.") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "baocao@soldtbxh.example.invalid"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when or dt.datetime(2024, 3, 5, 9, tzinfo=dt.UTC))
    msg["Message-ID"] = make_msgid(domain="example.invalid")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(text)
    for name, data, media in attachments or []:
        maintype, subtype = media.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def zipped(members: dict[str, bytes], *, utf8_names: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 5, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    raw = buf.getvalue()
    return raw


def forwarded(outer_sender: str, inner: EmailMessage) -> EmailMessage:
    """``inner`` forwarded as an attachment (message/rfc822), as Outlook and Thunderbird do."""
    msg = message(outer_sender, "Fwd: " + str(inner["Subject"]), text="Chuyển tiếp báo cáo của huyện.")
    msg.add_attachment(inner)
    return msg


def outlook_style(sender: str, name: str, data: bytes) -> bytes:
    """An attachment whose name is an RFC 2047 word inside a quoted parameter (Outlook), in a nested
    multipart/mixed → multipart/alternative, with Windows line ends."""
    from email.header import Header

    encoded = Header(name, "utf-8").encode()
    import base64

    body = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (
        f"From: {sender}\r\nTo: baocao@soldtbxh.example.invalid\r\nSubject: =?utf-8?B?QsOhbyBjw6Fv?=\r\n"
        f"Message-ID: <outlook-1@example.invalid>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
        f"--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
        f"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBao cao\r\n"
        f"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Bao cao</p>\r\n--inner--\r\n"
        f"--outer\r\nContent-Type: application/vnd.ms-excel; name=\"{encoded}\"\r\n"
        f"Content-Disposition: attachment; filename=\"{encoded}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{body}\r\n--outer--\r\n").encode()
