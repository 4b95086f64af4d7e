"""A small driver for headless Chromium over the Chrome DevTools Protocol (CDP).

No new dependency: Chromium is started as a process, announces its DevTools port in
``<user-data-dir>/DevToolsActivePort``, and is spoken to over aiohttp's websocket client in
"flat" mode (one socket; each page is a session). ``Chromium.launch()`` starts it, and a
``Tab`` opens a file, evaluates JavaScript, records every network request the page sends
(``Network.requestWillBeSent``), takes screenshots and prints PDFs.

A missing Chromium fails the test that needs it, with how to install it: these tests are
never skipped (under ``CI=true`` the message says CI must provide it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import re
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
import pytest

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
INSTALLED = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
"""Where Debian puts it, for a PATH that leaves /usr/bin out."""
PAPER = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}
"""Paper sizes in inches, as ``Page.printToPDF`` takes them."""


def chromium_path() -> str:
    """Where Chromium is; fails the test (never skips it) when it is not installed."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    for path in INSTALLED:
        if Path(path).exists():
            return path
    hint = "install it: apt-get install -y chromium (Debian/Ubuntu), or put chromium on PATH"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide chromium for the HTML report's browser tests; {hint}")
    pytest.fail(f"the HTML report's browser tests need chromium and are never skipped; {hint}")


class CDPError(Exception):
    """Chromium answered a command with an error."""


class Chromium:
    """A running headless Chromium and its one DevTools connection."""

    def __init__(
        self, process: asyncio.subprocess.Process, socket: aiohttp.ClientWebSocketResponse
    ) -> None:
        self.process = process
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._event_arrived = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls) -> AsyncIterator[Chromium]:
        """Start Chromium with a throwaway profile; stop it (and its children) on exit."""
        executable = chromium_path()
        with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
            log = Path(profile, "stderr.log")
            with _log_file(log) as stderr:
                process = await asyncio.create_subprocess_exec(
                    executable,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    "about:blank",
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            try:
                url = await _devtools_url(Path(profile, "DevToolsActivePort"), process, log)
                async with aiohttp.ClientSession() as session:
                    socket = await session.ws_connect(url, max_msg_size=0)
                    browser = cls(process, socket)
                    try:
                        yield browser
                    finally:
                        await browser._close()
            finally:
                await _stop(process)

    async def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; raises ``CDPError`` for an error."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        answer = self._waiting[ident] = asyncio.get_running_loop().create_future()
        await self._socket.send_json(message)
        reply = await asyncio.wait_for(answer, timeout=60)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def wait_for(self, method: str, session: str, after: int = 0) -> dict[str, Any]:
        """The first event ``method`` of ``session`` from ``events[after:]``, waiting for it."""
        async with asyncio.timeout(60):
            while True:
                for event in self.events[after:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        return event
                self._event_arrived.clear()
                await self._event_arrived.wait()

    async def new_tab(self, width: int = 1100, height: int = 900) -> Tab:
        """A new page, ``width`` x ``height`` CSS pixels, with its network recorded."""
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        tab = Tab(self, attached["sessionId"])
        await tab.send("Page.enable")
        await tab.send("Network.enable")
        await tab.resize(width, height)
        return tab

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = message.json()
            waiting = self._waiting.pop(data["id"], None) if "id" in data else None
            if waiting is not None:
                if not waiting.done():
                    waiting.set_result(data)
            else:
                self.events.append(data)
                self._event_arrived.set()

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send("Browser.close"), timeout=5)
        await self._socket.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


class Tab:
    """One page of a ``Chromium``."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session
        self.opened_at = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, self.session, **params)

    async def resize(self, width: int, height: int) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def open(self, path: Path) -> str:
        """Load ``path`` (a file) and wait for its load event; returns its ``file://`` URL."""
        url = _file_url(path)
        self.opened_at = len(self.browser.events)
        await self.send("Page.navigate", url=url)
        await self.browser.wait_for("Page.loadEventFired", self.session, self.opened_at)
        return url

    def requests(self) -> list[str]:
        """The URL of every request the page sent since it was opened."""
        return [
            event["params"]["request"]["url"]
            for event in self.browser.events[self.opened_at :]
            if event.get("method") == "Network.requestWillBeSent"
            and event.get("sessionId") == self.session
        ]

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-like values)."""
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise CDPError(f"{expression!r}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def media(self, kind: str) -> None:
        """Lay the page out for ``"print"`` or ``"screen"``."""
        await self.send("Emulation.setEmulatedMedia", media=kind)

    async def screenshot(self, height: int | None = None) -> bytes:
        """A PNG of the page from its top: ``height`` CSS pixels of it, or all of it."""
        metrics = await self.send("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": size["width"],
            "height": min(size["height"], height) if height else size["height"],
            "scale": 1,
        }
        reply = await self.send(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        return base64.b64decode(reply["data"])

    async def pdf(self, paper: str) -> bytes:
        """The page printed to PDF on ``paper`` (``A4`` or ``Letter``), as a browser prints."""
        width, height = PAPER[paper]
        reply = await self.send(
            "Page.printToPDF",
            paperWidth=width,
            paperHeight=height,
            printBackground=True,
            preferCSSPageSize=False,
        )
        return base64.b64decode(reply["data"])


def pdf_pages(pdf: bytes) -> int:
    """How many pages a PDF has (its page objects; Chromium writes them uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _log_file(path: Path) -> BinaryIO:
    return path.open("wb")


def _file_url(path: Path) -> str:
    return path.resolve().as_uri()


def _announced(path: Path) -> list[str]:
    """The lines of Chromium's ``DevToolsActivePort`` file: its port, then its path."""
    return path.read_text().splitlines() if path.exists() else []


async def _devtools_url(announced: Path, process: asyncio.subprocess.Process, log: Path) -> str:
    """The browser's DevTools websocket URL, once Chromium has written it down."""
    async with asyncio.timeout(30):
        while True:
            if process.returncode is not None:
                tail = _announced(log)[-20:]
                raise RuntimeError(f"chromium exited with {process.returncode}: {tail}")
            lines = _announced(announced)
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            await asyncio.sleep(0.05)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Wait for Chromium to exit; kill its process group (ours alone) if it does not."""
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    with contextlib.suppress(ProcessLookupError):
        # Helpers (zygote, GPU) sometimes outlive the browser: they are in its group.
        os.killpg(process.pid, signal.SIGKILL)
