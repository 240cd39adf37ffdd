"""Airflow notifiers of our own: a JSON webhook for a chat room (Slack, Mattermost, Rocket.Chat, Google Chat…).

The address and the token live in an Airflow HTTP connection (UI, CLI, environment variable or secrets
backend), never in code or in the repository, for example::

    export AIRFLOW_CONN_WEBHOOK_SECTORSTATS='{"conn_type": "http",
        "host": "https://chat.example.vn/hooks/sectorstats", "password": "…"}'

``host`` is the full URL (or a host name, with ``port``, ``schema`` = http|https and ``extra.path``); a
``password`` is sent as ``Authorization: Bearer <password>``; ``extra.headers`` adds headers; ``extra.timeout``
(seconds, default 15) bounds the wait for an answer. Every post carries the delivery's ``Idempotency-Key``, the
same on each attempt. A 429 or 503 answer raises :class:`RetryLater` with the receiver's ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from airflow.sdk import BaseHook, BaseNotifier

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15


class RetryLater(RuntimeError):
    """The receiver asked us to come back later (HTTP 429/503); ``seconds``: its ``Retry-After``, if it said."""

    def __init__(self, message: str, seconds: float | None) -> None:
        super().__init__(message)
        self.seconds = seconds


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def webhook_url(host: str, *, port: int | None = None, schema: str | None = None, path: str = "") -> str:
    """The URL of a webhook connection: ``host`` as given when it carries a scheme, else assembled."""
    if "://" in host:
        return host.rstrip("/") + (("/" + path.lstrip("/")) if path else "")
    scheme = schema if schema in ("http", "https") else "https"
    netloc = f"{host}:{port}" if port else host
    return f"{scheme}://{netloc}/{path.lstrip('/')}" if path else f"{scheme}://{netloc}"


class WebhookNotifier(BaseNotifier):
    """POST ``payload`` as JSON to the webhook behind the HTTP connection ``conn_id``; a non-2xx answer raises.

    Nothing in the payload is templated (``template_fields`` is empty): alert text carries district data.
    """

    template_fields = ()

    def __init__(self, *, conn_id: str, payload: dict[str, Any], idempotency_key: str | None = None) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.payload = payload
        self.idempotency_key = idempotency_key

    def notify(self, context: Any) -> None:
        conn = BaseHook.get_connection(self.conn_id)
        extra = conn.extra_dejson or {}
        url = webhook_url(conn.host or "", port=conn.port, schema=conn.schema, path=extra.get("path", ""))
        if not url.startswith(("http://", "https://")):  # urllib would also open file:// and ftp://
            raise ValueError(f"webhook connection {self.conn_id}: not an http(s) URL")
        headers = {"Content-Type": "application/json; charset=utf-8", **extra.get("headers", {})}
        if conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        body = json.dumps(self.payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        timeout = float(extra.get("timeout", TIMEOUT_SECONDS))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if not 200 <= response.status < 300:
                    raise RuntimeError(f"webhook {self.conn_id} answered {response.status}")
        except urllib.error.HTTPError as exc:
            if exc.code in (429, 503):
                raise RetryLater(f"webhook {self.conn_id} answered {exc.code}",
                                 retry_after_seconds(exc.headers.get("Retry-After"))) from None
            raise RuntimeError(f"webhook {self.conn_id} answered {exc.code}") from None
        log.info("webhook %s: posted alert %s", self.conn_id, self.payload.get("alert_id"))
