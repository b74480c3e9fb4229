"""Dashboard speed: a rerun after a price change with results shown, and the cold
start of ``streamlit run`` to the first painted heading.

Every server this module starts listens on 127.0.0.1 at a free port and is
stopped before the function returns.
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",
]
_PRICES = (1.5, 2.25, 3.0, 0.75, 4.5, 1.25, 2.0)


class DashboardMissing(RuntimeError):
    """The dashboard file is not in the repository."""


@dataclass
class RerunSpeed:
    """Seconds of each rerun after the price changed, with results in place."""

    seconds: list[float]
    training_seconds: float
    epochs: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def price_rerun(
    epochs: int, n_bootstrap: int, threads: int, timeout_s: float
) -> RerunSpeed:
    """Train on the bundled sample data through the page, then time price changes.

    The run is started with the page's own Train button, so the session holds the
    results a user would have. Each timed rerun is one
    ``number_input("price").set_value(...).run()`` of AppTest.
    """
    if not APP.is_file():
        raise DashboardMissing(f"{APP} not found")
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=timeout_s)
    app.run()
    _raise_page_exception(app)
    app.number_input(key="epochs").set_value(epochs)
    app.number_input(key="bootstrap").set_value(n_bootstrap)
    app.number_input(key="threads").set_value(threads)
    app.run()
    started = time.perf_counter()
    app.button(key="train").click()
    app.run()
    while not _has_results(app):
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"no results {timeout_s:.0f} s after clicking Train")
        time.sleep(0.5)
        app.run()
        _raise_page_exception(app)
    training_seconds = time.perf_counter() - started
    app.run()

    seconds = []
    for price in _PRICES:
        started = time.perf_counter()
        app.number_input(key="price").set_value(price).run()
        seconds.append(time.perf_counter() - started)
        _raise_page_exception(app)
    return RerunSpeed(seconds, training_seconds, epochs)


def _has_results(app) -> bool:
    try:
        return app.session_state["results"] is not None
    except KeyError:
        return False


def _raise_page_exception(app) -> None:
    if len(app.exception):
        raise RuntimeError(f"the page raised: {app.exception[0].value}")


@dataclass
class ColdStart:
    """Seconds from starting ``streamlit run`` to each milestone, per repeat."""

    http_ready: list[float]
    first_paint: list[float]  # empty when no browser was available

    @property
    def http_median(self) -> float:
        return statistics.median(self.http_ready)

    @property
    def paint_median(self) -> float | None:
        return statistics.median(self.first_paint) if self.first_paint else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            return response.status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _start_server(port: int, threads: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def cold_start(
    repeats: int, use_browser: bool, threads: int, timeout_s: float = 60.0
) -> ColdStart:
    """Start the server ``repeats`` times and time HTTP readiness and first paint.

    HTTP readiness is the first moment both ``/_stcore/health`` and ``/`` return
    200. First paint is when headless Chromium, started before the server so its
    own start is not counted, shows the page's ``h1`` heading.
    """
    if not APP.is_file():
        raise DashboardMissing(f"{APP} not found")
    browser_context = _open_browser() if use_browser else None
    http_ready, first_paint = [], []
    try:
        for _ in range(repeats):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            server = _start_server(port, threads)
            try:
                while not (
                    _status(f"{base}/_stcore/health") == 200
                    and _status(f"{base}/") == 200
                ):
                    if time.perf_counter() - started > timeout_s:
                        raise TimeoutError(
                            f"streamlit not ready on {base} after {timeout_s} s"
                        )
                    if server.poll() is not None:
                        raise RuntimeError(
                            f"streamlit exited with code {server.returncode}"
                        )
                    time.sleep(0.05)
                http_ready.append(time.perf_counter() - started)
                if browser_context is not None:
                    page = browser_context[1].new_page()
                    page.goto(f"{base}/", wait_until="commit")
                    page.wait_for_selector("h1", timeout=timeout_s * 1000)
                    first_paint.append(time.perf_counter() - started)
                    page.close()
            finally:
                _stop_server(server)
    finally:
        if browser_context is not None:
            browser_context[1].close()
            browser_context[0].stop()
    return ColdStart(http_ready, first_paint)


def _open_browser():
    """Start Playwright and headless Chromium; None when either is missing."""
    if not CHROMIUM.is_file():
        logger.warning("%s not found: first paint is not measured", CHROMIUM)
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        logger.warning("playwright not installed: first paint is not measured")
        return None
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
    )
    return playwright, browser
