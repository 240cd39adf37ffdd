"""A small driver of headless Chromium over the Chrome DevTools Protocol, with nothing but ``websockets``.

Chromium (Debian's ``chromium``, installed by ``.ci/system-deps``) is started with ``--remote-debugging-port=0``: it
picks a free port and writes it, with the browser's WebSocket path, to ``DevToolsActivePort`` in its profile folder.
One WebSocket to the browser carries everything: each page is a target attached in flat mode, so its commands and
events carry its ``sessionId``. Enough for tests: open a page, wait for it to load, run JavaScript in it (the page's
own Content-Security-Policy does not apply to what DevTools evaluates), attach files to a file input, and collect
what the page logged as an error (console calls, uncaught exceptions, the browser's own log: refused resources,
CSP violations, failed loads).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = Path(os.environ.get("SECTORSTATS_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0")


class CdpError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


class Chromium:
    """One headless browser process and its DevTools connection."""

    def __init__(self, profile: Path, executable: Path = CHROMIUM, timeout: float = 30.0) -> None:
        if not executable.exists():
            raise FileNotFoundError(f"{executable} is missing: install Debian's chromium (apt-get install -y chromium) "
                                    "or set SECTORSTATS_CHROMIUM")
        profile.mkdir(parents=True, exist_ok=True)
        port_file = profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.log = profile / "chromium.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([str(executable), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                said = self.log.read_text(errors="replace")[-2000:]
                raise CdpError(f"Chromium did not open its DevTools port: {said}")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws: ClientConnection = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=timeout)
        self.ids = itertools.count(1)
        self.events: deque[dict[str, Any]] = deque()
        self.timeout = timeout

    def call(self, method: str, session: str | None = None, timeout: float | None = None, **params: Any) -> dict:
        """Send a command and wait for its answer; events arriving meanwhile are kept for :meth:`next_event`."""
        ident = next(self.ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            got = self._receive(deadline, f"the answer to {method}")
            if got.get("id") == ident:
                if "error" in got:
                    raise CdpError(f"{method}: {got['error']}")
                return got.get("result", {})
            self.events.append(got)

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CdpError(f"no {waiting_for} within the time allowed")
        try:
            return json.loads(self.ws.recv(timeout=remaining))
        except TimeoutError:
            raise CdpError(f"no {waiting_for} within the time allowed") from None

    def next_event(self, session: str, names: set[str], timeout: float | None = None) -> dict[str, Any]:
        """The next event of ``session`` named one of ``names`` (others are kept for :class:`Tab`)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for event in list(self.events):
                if event.get("sessionId") == session and event.get("method") in names:
                    self.events.remove(event)
                    return event
            self.events.append(self._receive(deadline, f"event {sorted(names)}"))

    def new_tab(self) -> Tab:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        return Tab(self, session)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        with contextlib.suppress(Exception):
            self.ws.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Tab:
    """One page of the browser."""

    ERROR_EVENTS = frozenset({"Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"})

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser, self.session = browser, session
        for domain in ("Page", "Runtime", "Log", "DOM"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict:
        return self.browser.call(method, self.session, **params)

    def errors(self) -> list[str]:
        """What the page logged as an error since the last call (and drops it): console errors, uncaught
        exceptions, and the browser's log entries of level error (failed loads, CSP refusals)."""
        out = []
        for event in list(self.browser.events):
            if event.get("sessionId") != self.session or event.get("method") not in self.ERROR_EVENTS:
                continue
            self.browser.events.remove(event)
            params = event["params"]
            if event["method"] == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                said = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                out.append(f"console: {said}")
            elif event["method"] == "Runtime.exceptionThrown":
                out.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                out.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        return out

    def _drop_loads(self) -> None:
        for event in list(self.browser.events):
            if event.get("sessionId") == self.session and event.get("method") == "Page.loadEventFired":
                self.browser.events.remove(event)

    def open(self, url: str) -> None:
        """Go to ``url`` and wait until it has loaded."""
        self._drop_loads()
        answer = self.call("Page.navigate", url=url)
        if answer.get("errorText"):
            raise CdpError(f"{url}: {answer['errorText']}")
        self.browser.next_event(self.session, {"Page.loadEventFired"})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise CdpError(f"{expression}: {answer['exceptionDetails'].get('text')} "
                           f"{answer['exceptionDetails'].get('exception', {}).get('description', '')}")
        return answer["result"].get("value")

    def submit(self, form_selector: str) -> None:
        """Submit a form as a click on its button would, and wait for the page it leads to."""
        self._drop_loads()
        self.evaluate(f"document.querySelector({json.dumps(form_selector)}).requestSubmit()")
        self.browser.next_event(self.session, {"Page.loadEventFired"})

    def fill(self, values: dict[str, str]) -> None:
        """Type values into inputs, by CSS selector."""
        for selector, value in values.items():
            self.evaluate(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")

    def attach(self, selector: str, *paths: Path) -> None:
        """Choose files in a file input, as the file dialog would."""
        root = self.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        if not node:
            raise CdpError(f"no element {selector}")
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(p) for p in paths])

    def text(self, selector: str) -> str | None:
        return self.evaluate(f"(e => e && e.textContent.trim().replace(/\\s+/g, ' '))"
                             f"(document.querySelector({json.dumps(selector)}))")

    def rows(self, selector: str) -> list[list[str]]:
        """The cells' text of every row of a table."""
        return self.evaluate(f"Array.from(document.querySelectorAll({json.dumps(selector + ' tr')}), tr => "
                             "Array.from(tr.cells, c => c.textContent.trim().replace(/\\s+/g, ' ')))")

    @property
    def url(self) -> str:
        return self.evaluate("location.href")
