"""ingest.tell.notifiers: the webhook's address is assembled from its Airflow connection, and only http(s) is used."""

from __future__ import annotations

import pytest

from ingest.tell.notifiers import webhook_url


@pytest.mark.parametrize(("args", "url"), [
    (("https://chat.example.vn/hooks/abc",), "https://chat.example.vn/hooks/abc"),
    (("https://chat.example.vn/hooks/",), "https://chat.example.vn/hooks"),
    (("chat.example.vn",), "https://chat.example.vn"),
    (("chat.example.vn", 8065, "http", "/hooks/abc"), "http://chat.example.vn:8065/hooks/abc"),
    (("chat.example.vn", None, "ftp", "hooks"), "https://chat.example.vn/hooks"),
    (("http://127.0.0.1:9/x", None, None, "y"), "http://127.0.0.1:9/x/y"),
])
def test_webhook_url(args: tuple, url: str) -> None:
    host, *rest = args
    port, schema, path = [*rest, None, None, ""][:3]
    assert webhook_url(host, port=port, schema=schema, path=path or "") == url
