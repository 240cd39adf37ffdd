"""Who may deliver reports by e-mail, and for which unit.

The addresses are those of ``ingest/catalogue/recipients.yaml``: a unit's addresses (``units``, who is told about
its reports) and the further addresses it sends from (``senders``) deliver for that unit; the province's addresses
(``province``) deliver as the province (its code in ``forms.yaml``), which may forward any unit's report: the form's
own unit then decides. Every other address is unknown:
its message is quarantined, never loaded.

A From header is easy to forge. When the department's mail server stamps its verdict on each message
(``Authentication-Results``, RFC 8601) and ``SECTORSTATS_MAIL_AUTHSERV_ID`` names that server, a message is
trusted only when the topmost such header is that server's and says DMARC, or DKIM or SPF aligned with the
From domain, passed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SenderCheck:
    unit_code: str | None  # the unit the address delivers for (the province's code for the province); None: unknown
    reason: str = ""  # "" when the message may be taken, else a code of doors.yaml → not_taken


def sender_units(spec: dict, province_code: str) -> dict[str, str]:
    """Address (lower-case) → the unit it delivers for, from the recipients file's ``units``, ``senders`` and
    ``province`` (whose addresses deliver as ``province_code``). An address listed for two units could not say
    which it delivers for: an error."""
    out: dict[str, str] = {}
    for section in ("units", "senders"):
        for code, addresses in (spec.get(section) or {}).items():
            for address in addresses or []:
                key = str(address).strip().lower()
                if key in out and out[key] != str(code):
                    raise ValueError(f"recipients.yaml: {address} is listed for units {out[key]} and {code}; an "
                                     "address may deliver for one unit only")
                out[key] = str(code)
    for address in spec.get("province") or []:
        out.setdefault(str(address).strip().lower(), province_code)
    return out


_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_PROP = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom)\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


def _aligned(domain: str, sender_domain: str) -> bool:
    domain = domain.lower().lstrip("@").rsplit("@", 1)[-1]
    return sender_domain == domain or sender_domain.endswith("." + domain) or domain.endswith("." + sender_domain)


def authenticated(results: str, sender: str, authserv_id: str) -> bool:
    """Whether the topmost ``Authentication-Results`` header (``results``) is the trusted server's and shows the
    From address's domain passed DMARC, or DKIM or SPF aligned with it."""
    head, _, rest = results.partition(";")
    if head.split()[:1] != [authserv_id] or "@" not in sender:
        return False
    sender_domain = sender.rsplit("@", 1)[1].lower()
    for method, verdict, props in _RESULT.findall(rest):
        if verdict.lower() != "pass":
            continue
        domains = [value for _, value in _PROP.findall(props)]
        if method.lower() == "dmarc" and (not domains or any(_aligned(d, sender_domain) for d in domains)):
            return True
        if method.lower() in ("dkim", "spf") and any(_aligned(d, sender_domain) for d in domains):
            return True
    return False


def mail_authserv_id() -> str:
    """``SECTORSTATS_MAIL_AUTHSERV_ID``: the department's mail server as it names itself in
    ``Authentication-Results`` (e.g. ``mail.hatinh.gov.vn``); empty: the From address is trusted as it is."""
    return os.environ.get("SECTORSTATS_MAIL_AUTHSERV_ID", "").strip()


def check_sender(sender: str, results: str, addresses: dict[str, str], authserv_id: str) -> SenderCheck:
    """The unit ``sender`` delivers for, or why its message is not taken."""
    unit = addresses.get(sender.lower()) if sender else None
    if unit is None:
        return SenderCheck(None, "unknown-sender")
    if authserv_id and not authenticated(results, sender, authserv_id):
        return SenderCheck(unit, "not-authenticated")
    return SenderCheck(unit)
