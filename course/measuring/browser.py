"""A first and a repeat visit in a real browser: headless Chromium driven by Playwright.

Optional: the course does not install a browser. When Playwright or Chromium is
missing, ``unavailable()`` says why and what to install, and the notebooks fall
back to the model browser of ``course.measuring.visits``. What is counted comes
from Chromium's own network events (the numbers its devtools show): a request
that went to the server, its bytes on the wire, or a copy from its cache::

    from course.measuring import browser
    if browser.unavailable() is None:
        rows = browser.first_and_repeat(base, "/products/")
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Any

INSTALL = (".venv/bin/python -m pip install playwright, then either `.venv/bin/python -m "
           "playwright install chromium` or COURSE_CHROMIUM=/path/to/chromium")
FLAGS = ["--no-sandbox", "--disable-background-networking"]


def chromium() -> str | None:
    """A Chromium to drive: ``COURSE_CHROMIUM``, one on the PATH, or None (Playwright's own)."""
    chosen = os.environ.get("COURSE_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """None when a real browser can run here; otherwise why not, and the install line."""
    if importlib.util.find_spec("playwright") is None:
        return f"Playwright is not installed. To measure in a real browser: {INSTALL}"
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as driver:
            driver.chromium.launch(executable_path=chromium(), args=FLAGS).close()
    except Exception as error:  # noqa: BLE001 - any failure to start means: no browser here
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"Chromium did not start ({first}). {INSTALL}"
    return None


class _Network:
    """What Chromium's devtools protocol reports for one navigation."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.urls: dict[str, str] = {}
        self.cached: set[str] = set()
        self.status: dict[str, int] = {}
        self.wire_bytes: dict[str, float] = {}

    def listen(self, session: Any) -> None:
        session.on("Network.requestWillBeSent",
                   lambda e: self.urls.setdefault(e["requestId"], e["request"]["url"]))
        session.on("Network.requestServedFromCache",
                   lambda e: self.cached.add(e["requestId"]))
        session.on("Network.responseReceived", self._response)
        session.on("Network.loadingFinished",
                   lambda e: self.wire_bytes.__setitem__(e["requestId"], e["encodedDataLength"]))

    def _response(self, event: dict[str, Any]) -> None:
        response = event["response"]
        self.status[event["requestId"]] = response.get("status", 0)
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.cached.add(event["requestId"])

    def summary(self) -> dict[str, Any]:
        network = [rid for rid in self.urls if rid not in self.cached]
        return {
            "requests seen": len(self.urls),
            "from the browser's cache": len(self.urls) - len(network),
            "requests to the server": len(network),
            "bytes on the wire": int(sum(self.wire_bytes.get(rid, 0) for rid in network)),
            "304 answers": sum(1 for rid in network if self.status.get(rid) == 304),
        }


def first_and_repeat(base: str, path: str) -> dict[str, dict[str, Any]]:
    """Open ``base + path``, then open it again in the same browser (a returning visitor):
    ``{"first": counts, "repeat": counts}``."""
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=FLAGS)
        try:
            page = browser.new_context().new_page()
            session = page.context.new_cdp_session(page)
            session.send("Network.enable")
            network = _Network()
            network.listen(session)
            for visit in ("first", "repeat"):
                network.reset()
                page.goto(base + path, wait_until="load")
                page.wait_for_load_state("networkidle")
                results[visit] = network.summary()
                page.goto("about:blank")
        finally:
            browser.close()
    return results
