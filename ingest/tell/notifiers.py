"""Airflow notifiers of our own: a JSON webhook for a chat room (Slack, Mattermost, Rocket.Chat, Google Chat…).

The address and the token live in an Airflow HTTP connection (UI, CLI, environment variable or secrets
backend), never in code or in the repository, for example::

    export AIRFLOW_CONN_WEBHOOK_SECTORSTATS='{"conn_type": "http",
        "host": "https://chat.example.vn/hooks/sectorstats", "password": "…"}'

``host`` is the full URL (or a host name, with ``port``, ``schema`` = http|https and ``extra.path``); a
``password`` is sent as ``Authorization: Bearer <password>``; ``extra.headers`` adds headers.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from airflow.sdk import BaseHook, BaseNotifier

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15


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

    def __init__(self, *, conn_id: str, payload: dict[str, Any]) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.payload = payload

    def notify(self, context: Any) -> None:
        conn = BaseHook.get_connection(self.conn_id)
        extra = conn.extra_dejson or {}
        url = webhook_url(conn.host or "", port=conn.port, schema=conn.schema, path=extra.get("path", ""))
        if not url.startswith(("http://", "https://")):  # urllib would also open file:// and ftp://
            raise ValueError(f"webhook connection {self.conn_id}: not an http(s) URL")
        headers = {"Content-Type": "application/json; charset=utf-8", **extra.get("headers", {})}
        if conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
        body = json.dumps(self.payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"webhook {self.conn_id} answered {response.status}")
        log.info("webhook %s: posted alert %s", self.conn_id, self.payload.get("alert_id"))
