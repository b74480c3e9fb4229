"""End-to-end test: a real Streamlit server driven by Debian's headless Chromium.

The browser uploads the Telco churn file, trains on two targets with small
settings, saves a screenshot of the results and opens the downloaded HTML report
offline. Every request the browser makes must go to 127.0.0.1 or localhost.
``UPDATE_SCREENSHOT=1`` copies the screenshot over the README's
docs/screenshot-results.png; otherwise the test writes nothing in the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TELCO = SHARED_DATA / "telco_churn_blastchar" / "WA_Fn-UseC_-Telco-Customer-Churn.csv"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO / "docs" / "screenshot-results.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Any request that escapes to another host goes to a closed local port.
    "--proxy-server=http://127.0.0.1:9",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SERVER_START_TIMEOUT_S = 60
TRAIN_TIMEOUT_MS = 150_000

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout_s} s")


def serve(tmp_path_factory, *extra_args: str):
    """Run ``streamlit run`` on a free 127.0.0.1 port; yield its URL, then stop it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        *extra_args,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, process, SERVER_START_TIMEOUT_S)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
    assert not errors, f"the server logged tracebacks; see {log_path}"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    yield from serve(tmp_path_factory)


@pytest.fixture(scope="module")
def one_megabyte_server_url(tmp_path_factory):
    yield from serve(tmp_path_factory, "--server.maxUploadSize", "1")


@pytest.fixture()
def browser_page():
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 1000}, accept_downloads=True
            )
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            yield page, requests
        finally:
            browser.close()


def outside_requests(urls: list[str]) -> list[str]:
    """Return the requested URLs that leave 127.0.0.1 and localhost."""
    outside = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "file", "about"):
            continue
        if parts.hostname not in LOCAL_HOSTS:
            outside.append(url)
    return outside


def set_number(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label)
    field.fill(value)
    field.press("Enter")
    page.wait_for_timeout(700)


# Table cells with a single word whose text runs over more than one line.
_BROKEN_WORDS_SCRIPT = """
() => [...document.querySelectorAll("th, td")]
  .filter((cell) => {
    const text = cell.textContent.trim();
    if (!text || /\\s/.test(text)) return false;
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = [...range.getClientRects()].map((rect) => Math.round(rect.top));
    return new Set(tops).size > 1;
  })
  .map((cell) => cell.textContent.trim())
"""


def test_upload_train_and_report(server_url, browser_page, tmp_path):
    if not TELCO.is_file():
        pytest.skip(f"Telco churn data not present at {TELCO}")
    page, requests = browser_page
    started = time.monotonic()

    page.goto(server_url)
    page.get_by_role("heading", name="1. Data").wait_for(timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(TELCO)
    page.get_by_text("7,043 rows").wait_for(timeout=60_000)

    targets = page.locator(".stMultiSelect").first
    targets.get_by_text("Churn", exact=True).wait_for()
    # The select box filters on typed keys; fill() alone does not open the menu.
    targets.locator("input").click()
    page.keyboard.type("Contract")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_text("Kind of Contract", exact=True).wait_for()
    selected = targets.locator("[data-tag]").all_inner_texts()
    assert [text.strip() for text in selected] == ["Churn", "Contract"]

    set_number(page, "Epochs per network", "2")
    page.get_by_text("More settings").click()
    set_number(page, "Bootstrap resamples", "100")
    set_number(page, "LightGBM boosting rounds (maximum)", "50")

    page.get_by_role("button", name="Train and compare").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=30_000)
    page.get_by_role("heading", name="4. Results").wait_for(timeout=TRAIN_TIMEOUT_MS)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert page.get_by_text("Of 4 comparisons").count() == 1
    page.get_by_role("heading", name="5. Export").wait_for()
    page.wait_for_timeout(2_000)

    main_height = page.evaluate(
        "document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": main_height + 40})
    page.wait_for_timeout(2_000)
    screenshot = tmp_path / "results.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, SCREENSHOT)

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="HTML report").click()
    report_path = tmp_path / "report.html"
    download_info.value.save_as(report_path)
    assert report_path.stat().st_size > 100_000

    report = page.context.new_page()
    report.set_viewport_size({"width": 1200, "height": 900})
    report.on("request", lambda request: requests.append(request.url))
    report.goto(report_path.as_uri())
    report.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert report.locator(".js-plotly-plot").count() >= 5
    assert "Churn" in report.content()
    assert report.evaluate(_BROKEN_WORDS_SCRIPT) == []

    assert not outside_requests(requests), outside_requests(requests)
    assert time.monotonic() - started < 180


def test_stop_button_cancels_run(server_url, browser_page, tmp_path):
    page, requests = browser_page
    page.goto(server_url)
    page.get_by_role("heading", name="2. Targets").wait_for(timeout=60_000)
    set_number(page, "Epochs per network", "500")

    page.get_by_role("button", name="Train and compare").click()
    stop = page.get_by_role("button", name="Stop")
    stop.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"epoch \d+ of 500")).wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "progress.png"))
    stop.click()

    page.get_by_text("Run stopped; no results from it are shown.").wait_for(
        timeout=60_000
    )
    assert page.get_by_role("heading", name="4. Results").count() == 0
    assert page.get_by_role("button", name="Train and compare").is_enabled()
    assert not outside_requests(requests), outside_requests(requests)


def test_upload_above_limit_refused_readably(
    one_megabyte_server_url, browser_page, tmp_path
):
    page, requests = browser_page
    big = tmp_path / "big_export.csv"
    row = "0.123456789,north,yes,12.5\n"
    big.write_text("signal,region,clicked,spend\n" + row * (1_300_000 // len(row)))
    page.goto(one_megabyte_server_url)
    page.get_by_role("heading", name="1. Data").wait_for(timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(big)
    page.get_by_text(re.compile(r"File must be 1(\.0)?MB or smaller")).wait_for(
        timeout=30_000
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not outside_requests(requests), outside_requests(requests)
