"""Real servers on loopback that can be made to fail, for the outage tests: an SMTP server and a webhook receiver.

Both are plain sockets speaking the protocol (SMTP: RFC 5321's greeting, EHLO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; HTTP/1.1 POST), so a failure happens where a real one does: at connect time, before the greeting, in the
middle of DATA, or as an HTTP status. Each keeps a log of what it received (its "server log")."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    message_id: str | None
    subject: str
    rcpt: list[str]
    attachments: list[str] = field(default_factory=list)
    message: email.message.EmailMessage | None = None  # the whole message as it was received

    def text(self) -> str:
        """The body a reader sees (the HTML part's text, unescaped)."""
        import html
        import re

        assert self.message is not None
        part = self.message.get_body(preferencelist=("html", "plain"))
        return html.unescape(re.sub(r"<[^>]+>", "", part.get_content()))


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _LoopbackServer:
    """A server on a fixed loopback port whose behaviour is its ``mode``: ``down`` (nothing listens: connection
    refused) until :meth:`set` says otherwise; the same port through every mode, as a real server coming back."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: _Server | None = None
        self.mode = "down"

    def set(self, mode: str) -> None:
        if mode == "down":
            self._stop()
        elif self._server is None:
            self._start()
        self.mode = mode

    def _start(self) -> None:
        raise NotImplementedError

    def _serve(self, handler: type[socketserver.StreamRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._stop()


class SmtpServer(_LoopbackServer):
    """An SMTP server on a fixed loopback port. ``mode``: ``ok``; ``down`` (nothing listens: connection refused);
    ``busy`` (greets with 421, as a server that refuses service); ``hang`` (accepts, never greets); ``drop-data``
    (closes the connection in the middle of DATA); ``slow-data`` (takes the message, then answers after the
    client's timeout: delivered, though the client cannot know). ``received`` is its log of the messages it took."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.connections = 0
        self.on_message: Callable[[int], None] | None = None  # called with the count, before the 250 reply

    def _start(self) -> None:
        smtp = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                smtp.connections += 1
                if smtp.mode == "hang":
                    time.sleep(30)
                    return
                if smtp.mode == "busy":
                    self.wfile.write(b"421 127.0.0.1 Service not available, try again later\r\n")
                    return
                self.wfile.write(b"220 127.0.0.1 ESMTP test\r\n")
                rcpt: list[str] = []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        self.wfile.write(b"250-127.0.0.1\r\n250 8BITMIME\r\n")
                    elif verb == b"MAIL":
                        rcpt = []
                        self.wfile.write(b"250 OK\r\n")
                    elif verb == b"RCPT":
                        rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                        self.wfile.write(b"250 OK\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        lines = []
                        while True:
                            part = self.rfile.readline()
                            if not part:
                                return
                            if smtp.mode == "drop-data" and len(lines) == 3:
                                return  # the connection closes mid-message
                            if part == b".\r\n":
                                break
                            lines.append(part[1:] if part.startswith(b"..") else part)
                        msg = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                        names = [p.get_filename() for p in msg.iter_attachments()]
                        smtp.received.append(Received(msg["Message-ID"], str(msg["Subject"]), rcpt,
                                                      [n for n in names if n], msg))
                        if smtp.on_message is not None:
                            smtp.on_message(len(smtp.received))
                        if smtp.mode == "slow-data":
                            time.sleep(4)  # over the client's 2 s timeout
                        self.wfile.write(b"250 OK queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # RSET, NOOP
                        self.wfile.write(b"250 OK\r\n")

        self._serve(Handler)

    def connection_env(self) -> dict[str, str]:
        return {"AIRFLOW_CONN_SMTP_SECTORSTATS": json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": self.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "sectorstats@example.invalid",
                      "timeout": 2, "retry_limit": 1}})}


class WebhookServer(_LoopbackServer):
    """A chat webhook on a fixed loopback port. ``mode``: ``ok``; ``down``; ``error`` (500); ``throttle`` (429 with
    ``Retry-After: retry_after``); ``slow`` (answers after ``delay`` seconds). ``posts`` is its log of the posts
    it accepted, with their ``Idempotency-Key``."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[str | None, dict]] = []
        self.requests = 0
        self.retry_after = "3600"
        self.delay = 5.0

    def _start(self) -> None:
        hook = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = self.rfile.readline()
                headers: dict[str, str] = {}
                while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = self.rfile.read(int(headers.get("content-length", "0")))
                hook.requests += 1
                if not request.startswith(b"POST "):
                    return self._answer(405, b"")
                if hook.mode == "error":
                    return self._answer(500, b"internal error")
                if hook.mode == "throttle":
                    return self._answer(429, b"slow down", {"Retry-After": hook.retry_after})
                if hook.mode == "slow":
                    time.sleep(hook.delay)
                hook.posts.append((headers.get("idempotency-key"), json.loads(body)))
                return self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close",
                        *(f"{k}: {v}" for k, v in (extra or {}).items())]
                with contextlib.suppress(OSError):  # the client gave up (its timeout)
                    self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

        self._serve(Handler)

    def connection_env(self) -> dict[str, str]:
        return {"AIRFLOW_CONN_WEBHOOK_SECTORSTATS": json.dumps({
            "conn_type": "http", "host": f"http://127.0.0.1:{self.port}/hooks/sectorstats", "password": "t0ken",
            "extra": {"timeout": 1}})}
