"""Tests of the HTML and PDF reports: content, escaping, offline use and fonts."""

from __future__ import annotations

import html
import re
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from mtl_core import report_pdf
from mtl_core.number_format import MINUS
from mtl_core.report_html import render_html_report
from mtl_core.report_pdf import (
    ChartExportError,
    FontFiles,
    export_chart_images,
    find_fonts,
    render_pdf_report,
)
from tests.fixtures_metrics import make_metrics

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="needs Debian chromium at /usr/bin/chromium"
)

FALLBACK = "Charts are in the HTML report."
IMG_PAYLOAD = "<img src=x onerror=alert(1)>"
SCRIPT_PAYLOAD = '"><script>alert(1)</script>'


def hostile_metrics() -> dict:
    """Fixture with hostile strings in every place that contains text from the data."""
    metrics = make_metrics(
        task_names=(IMG_PAYLOAD, SCRIPT_PAYLOAD, "revenue"),
        class_names=("email", IMG_PAYLOAD, "web"),
    )
    run = metrics["run"]
    run["files"][0]["name"] = f"{SCRIPT_PAYLOAD}.csv"
    run["features"].append(IMG_PAYLOAD)
    run["excluded_columns"].append({"column": IMG_PAYLOAD, "reason": SCRIPT_PAYLOAD})
    run["settings"][IMG_PAYLOAD] = SCRIPT_PAYLOAD
    metrics["skipped_tasks"].append({"column": SCRIPT_PAYLOAD, "reason": IMG_PAYLOAD})
    metrics["tasks"][2]["unavailable"] = {"lightgbm": {"r2": IMG_PAYLOAD}}
    metrics["tasks"][2]["metrics"]["lightgbm"]["r2"] = None
    return metrics


def not_available_metrics() -> dict:
    """Fixture where the binary task's LightGBM comparison has no verdict."""
    metrics = make_metrics()
    task = metrics["tasks"][0]
    task["metrics"]["multitask"]["roc_auc"] = None
    task["unavailable"] = {
        "multitask": {"roc_auc": "only one class among the test rows"}
    }
    task["comparisons"]["lightgbm"] = {
        "metric": "roc_auc",
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "verdict": "not_available",
    }
    return metrics


# --- HTML -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_html() -> str:
    return render_html_report(make_metrics())


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_html_report(hostile_metrics())


def test_html_is_complete_document(report_html):
    assert report_html.startswith("<!DOCTYPE html>")
    assert report_html.rstrip().endswith("</html>")
    assert "<meta charset='utf-8'>" in report_html


def test_html_loads_nothing_from_hosts(report_html):
    assert not re.search(r"<script[^>]*\ssrc\s*=", report_html, re.I)
    assert not re.search(r"<link[^>]*\shref\s*=", report_html, re.I)
    assert not re.search(
        r"<img[^>]*\ssrc\s*=\s*[\"']?\s*(https?:)?//", report_html, re.I
    )

    # plotly.js contains URLs in strings, so the markup is checked without scripts.
    markup = re.sub(r"<script\b.*?</script>", "", report_html, flags=re.S | re.I)
    assert markup.count("<div") >= 5
    assert not re.search(r"\s(src|href)\s*=\s*[\"']?\s*(https?:)?//", markup, re.I)
    assert not re.search(r"@import|url\(\s*[\"']?\s*(https?:)?//", markup, re.I)


def test_html_embeds_plotly_once(report_html):
    bundles = re.findall(r"\* plotly\.js v\d+\.\d+\.\d+", report_html)
    assert len(bundles) == 1
    assert report_html.count("Plotly.newPlot(") == 5


def test_html_blocks_remote_requests(report_html):
    match = re.search(
        r'http-equiv="Content-Security-Policy" content="([^"]+)"', report_html
    )
    assert match is not None
    assert "default-src 'none'" in match.group(1)


@pytest.mark.parametrize(
    "payload", [IMG_PAYLOAD, SCRIPT_PAYLOAD], ids=["img", "script"]
)
def test_html_escapes_hostile_names(hostile_html, payload):
    assert payload not in hostile_html
    assert html.escape(payload, quote=True) in hostile_html


def test_html_has_no_injected_markup(hostile_html):
    assert "<img src=x" not in hostile_html
    assert "<script>alert(1)" not in hostile_html


def test_html_escapes_names_in_every_section(hostile_html):
    escaped = html.escape(IMG_PAYLOAD, quote=True)
    sections = re.split(r"<section id='", hostile_html)[1:]
    found = {section.split("'", 1)[0] for section in sections if escaped in section}
    assert {"run", "verdicts", "metrics", "charts", "savings", "skipped"} <= found


def test_html_states_every_verdict(report_html):
    assert "Shared model better" in report_html
    assert "Separate models better" in report_html
    assert "No clear difference" in report_html


def test_html_states_loss_in_words(report_html):
    assert "On revenue, the shared model is worse than LightGBM" in report_html
    assert "RMSE 1,234.5 against 1,102.3, where lower is better." in report_html
    assert f"is {MINUS}185.9 to {MINUS}80.4, so it excludes zero." in report_html
    assert "worse in 1" in report_html


def test_html_flags_rare_class_and_warnings():
    metrics = make_metrics()
    metrics["tasks"][0]["test_class_counts"] = [190, 1]
    metrics["run"]["warnings"] = ["task 'clicked' has only 1 test row of class 'yes'"]

    page = html.unescape(render_html_report(metrics))

    assert "Only 1 test row is of class 'yes', so this is a rough guide." in page
    assert "<h3>Warnings from the run</h3>" in page
    assert "<li>task 'clicked' has only 1 test row of class 'yes'</li>" in page


def test_html_gives_unavailable_reason(report_html):
    reason = "n/a: class 'web' has no training rows"
    assert html.escape(reason, quote=True) in report_html


def test_html_not_available_verdict_reason():
    page = render_html_report(not_available_metrics())
    expected = "n/a: Shared multitask model: only one class among the test rows"
    assert html.escape(expected, quote=True) in page
    assert "1 has no verdict (the task tables give the reason)." in page


def test_html_run_summary(report_html):
    for text in ("bank-full.csv", "45,211", "31,647", "9,043", "cpu", "max_epochs"):
        assert text in report_html
    assert "<td>lightgbm</td><td>4.3.0</td>" in report_html


def test_html_savings_figures(report_html):
    for title in (
        "Task efficiency",
        "Accuracy gain",
        "Training time saved",
        "Cost reduction",
        "Prediction consistency",
    ):
        assert f"<h3>{title}</h3>" in report_html
    assert html.escape("saved = sum(t_separate) - t_shared") in report_html
    assert "Result: Seconds saved vs single-task networks" in report_html
    assert "<th>vs single-task networks</th>" in report_html
    assert "<td>ROC AUC</td>" in report_html


def test_metric_tables_list_primary_first():
    from mtl_core.report_content import metric_table

    tasks = make_metrics()["tasks"]

    assert {task["kind"] for task in tasks} == {"binary", "multiclass", "regression"}
    for task in tasks:
        assert metric_table(task).rows[0][0].endswith("(primary)"), task["kind"]


def test_gain_table_uses_verdict_decimals():
    from mtl_core.report_content import _per_task_table

    table = _per_task_table(
        {"clicked": {"metric": "roc_auc", "vs_lightgbm": -1.78e-05, "vs_x": 0.0123}}
    )

    assert table.rows == [["clicked", "ROC AUC", "\u22120.0000", "+0.0123"]]


def test_consistency_inputs_name_the_models(report_html):
    row = report_html.split("<th>Input: correct</th>")[1].split("</tr>")[0]

    assert row.startswith("<td>Shared multitask model ")
    assert "single_task_nn" not in row


def test_html_numbers_share_page_formats(report_html):
    assert "Price per hour of compute: 2.5000." in report_html
    assert "Upkeep per model and month: 10.00." in report_html
    assert "<th>Input: price_per_hour</th><td>2.5000</td>" in report_html
    assert "<td>n_bootstrap</td><td>1,000</td>" in report_html
    assert (
        f"<th>Result: Seconds saved vs LightGBM</th><td>{MINUS}36.4 s</td>"
        in report_html
    )
    assert "<th>Result: Time ratio: shared ÷ single-task networks</th><td>0.8859" in (
        report_html
    )
    # Text of tables, paragraphs and list items, without the scripts, whose chart
    # data and plotly.js hold plain numbers.
    page = re.sub(r"<script.*?</script>", "", report_html, flags=re.DOTALL)
    texts = re.findall(r"<(?:td|th|p|li)[^>]*>([^<]*)<", page)
    hyphen_minus = [text for text in texts if re.search(r"(?<![\w.])-\d", text)]
    assert hyphen_minus == []


def test_html_skipped_and_excluded(report_html):
    assert "only one class among the labelled rows" in report_html
    assert "identifier: every value is unique" in report_html


def test_html_handles_empty_metrics():
    page = render_html_report({"schema_version": 1})
    assert "No comparisons were computed." in page


@needs_chromium
def test_html_renders_charts_offline(tmp_path, hostile_html):
    path = tmp_path / "report.html"
    path.write_text(hostile_html, encoding="utf-8")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--no-first-run",
        "--virtual-time-budget=8000",
        "--dump-dom",
        path.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    # Each rendered plotly chart has three svg layers with class main-svg.
    assert result.stdout.count('class="main-svg"') == 15
    assert '<img src="x"' not in result.stdout


# --- PDF --------------------------------------------------------------------------


def _pdf_objects(data: bytes) -> dict[int, bytes]:
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", data, re.S)
    }


def _stream(body: bytes) -> bytes:
    match = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    if match is None:
        return b""
    raw = match.group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in body[: match.start()] else raw


def _unescape_literal(literal: bytes) -> bytes:
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def replace(match: re.Match[bytes]) -> bytes:
        token = match.group(1)
        if token[:1].isdigit():
            return bytes([int(token, 8)])
        return escapes.get(token, token)

    return re.sub(rb"\\([0-7]{1,3}|.)", replace, literal, flags=re.S)


def _cmap(data: bytes) -> dict[bytes, str]:
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode(
                "utf-16-be"
            )
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, dst in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            start, end, first = int(low, 16), int(high, 16), int(dst, 16)
            for offset in range(end - start + 1):
                code = (start + offset).to_bytes(len(low) // 2, "big")
                mapping[code] = chr(first + offset)
    return mapping


def pdf_text(data: bytes) -> str:
    """Extract the text of a PDF written by fpdf2, one line per text object."""
    objects = _pdf_objects(data)
    cmaps = {}
    for number, body in objects.items():
        match = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if match and b"/Type /Font" in body:
            cmaps[number] = _cmap(_stream(objects[int(match.group(1))]))
    fonts: dict[str, dict[bytes, str] | None] = {}
    for body in objects.values():
        for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            fonts[name.decode()] = cmaps.get(int(number))

    lines = []
    token = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\()])*)\)\s*Tj|\bET\b", re.S)
    for body in objects.values():
        content = _stream(body)
        if b"BT" not in content:
            continue
        current: dict[bytes, str] | None = None
        line = ""
        for match in token.finditer(content):
            if match.group(1):
                current = fonts.get(match.group(1).decode())
            elif match.group(0) == b"ET":
                lines.append(line)
                line = ""
            else:
                raw = _unescape_literal(match.group(2))
                if current is None:
                    line += raw.decode("latin-1")
                else:
                    pairs = [raw[i : i + 2] for i in range(0, len(raw), 2)]
                    line += "".join(current.get(pair, "\ufffd") for pair in pairs)
    return "\n".join(lines)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def plain_pdf() -> bytes:
    return render_pdf_report(make_metrics(), chart_images=False)


def test_pdf_header_and_font(plain_pdf):
    assert plain_pdf.startswith(b"%PDF")
    assert plain_pdf.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in plain_pdf
    assert b"DejaVuSans" in plain_pdf


def test_pdf_text_extractor_reads_report(plain_pdf):
    text = flat(pdf_text(plain_pdf))
    assert "Shared multitask model compared with separate models" in text
    assert "Run summary" in text


def test_pdf_fallback_when_images_off(plain_pdf):
    text = flat(pdf_text(plain_pdf))
    assert FALLBACK in text
    assert "Chart images were switched off." in text
    assert b"/Subtype /Image" not in plain_pdf


def test_pdf_content_matches_html(plain_pdf):
    text = flat(pdf_text(plain_pdf))
    for expected in (
        "Shared model better",
        "Separate models better",
        "No clear difference",
        "On revenue, the shared model is worse than LightGBM",
        "n/a: class 'web' has no training rows",
        "Task efficiency",
        "Prediction consistency",
        "saved = sum(t_separate) - t_shared",
        "identifier: every value is unique",
        "only one class among the labelled rows",
        "bank-full.csv",
    ):
        assert expected in text, expected


def test_pdf_fallback_without_browser():
    data = render_pdf_report(make_metrics(), browser_path="/nonexistent/chromium")
    text = flat(pdf_text(data))
    assert data.startswith(b"%PDF")
    assert FALLBACK in text
    assert "No executable Chromium was found at '/nonexistent/chromium'" in text


def test_pdf_fallback_on_timeout(tmp_path):
    # A browser that never responds, so the export must give up at the deadline.
    fake = tmp_path / "hanging-browser"
    fake.write_text("#!/bin/sh\nsleep 127\n")
    fake.chmod(0o755)
    started = time.perf_counter()
    data = render_pdf_report(make_metrics(), timeout_s=2, browser_path=fake)
    elapsed = time.perf_counter() - started
    assert FALLBACK in flat(pdf_text(data))
    assert "timed out after 2 s" in flat(pdf_text(data))
    assert elapsed < 2 + 2 * report_pdf._SHUTDOWN_GRACE_S + 5
    for pattern in (str(fake), "sleep 127"):
        leftover = subprocess.run(["pgrep", "-f", pattern], capture_output=True)
        assert leftover.stdout == b"", pattern


def test_export_rejects_missing_browser():
    with pytest.raises(ChartExportError, match="No executable Chromium"):
        export_chart_images([], browser_path="/nonexistent/chromium", timeout_s=1)


def test_pdf_greek_and_cyrillic_names():
    metrics = make_metrics(task_names=("Ωμέγα", "Выручка", "Ümsatz"))
    text = flat(pdf_text(render_pdf_report(metrics, chart_images=False)))
    for name in ("Ωμέγα", "Выручка", "Ümsatz"):
        assert f"On {name}," in text


@pytest.mark.skipif(
    find_fonts().cjk is None, reason="needs a CJK font such as fonts-wqy-microhei"
)
def test_pdf_cjk_names():
    metrics = make_metrics(task_names=("收入", "渠道 채널", "売上"))
    data = render_pdf_report(metrics, chart_images=False)
    text = flat(pdf_text(data))
    assert "On 收入," in text
    assert "On 渠道 채널," in text
    assert "On 売上," in text
    assert data.count(b"/FontFile2") >= 3


def test_pdf_core_font_fallback(monkeypatch):
    monkeypatch.setattr(report_pdf, "find_fonts", lambda: FontFiles(None, None, None))
    metrics = make_metrics(task_names=("Ωμέγα", "Ümsatz", "revenue"))
    data = render_pdf_report(metrics, chart_images=False)
    text = flat(pdf_text(data))
    assert data.startswith(b"%PDF")
    assert b"/FontFile2" not in data
    assert "no Unicode TrueType font" in text
    assert "On ?????," in text
    assert "On Ümsatz," in text
    # Latin-1 has no minus sign, so negative numbers keep the hyphen-minus.
    assert "is -185.9 to -80.4, so it excludes zero." in text


@pytest.mark.skipif(find_fonts().regular is None, reason="needs DejaVu Sans")
def test_pdf_broken_cjk_font(monkeypatch, tmp_path, caplog):
    broken = tmp_path / "broken.ttc"
    broken.write_bytes(b"not a font")
    fonts = find_fonts()
    monkeypatch.setattr(
        report_pdf, "find_fonts", lambda: FontFiles(fonts.regular, fonts.bold, broken)
    )
    data = render_pdf_report(make_metrics(), chart_images=False)
    assert data.startswith(b"%PDF")
    assert "could not be loaded" in caplog.text


def test_pdf_long_names_fit():
    long_name = "x" * 5000
    metrics = make_metrics(task_names=(long_name, "channel", "revenue"))
    data = render_pdf_report(metrics, chart_images=False)
    assert data.startswith(b"%PDF")


def test_pdf_hostile_names_as_text():
    text = flat(pdf_text(render_pdf_report(hostile_metrics(), chart_images=False)))
    assert f"On {IMG_PAYLOAD}," in text
    assert f"On {SCRIPT_PAYLOAD}," in text


@needs_chromium
def test_pdf_with_chart_images():
    data = render_pdf_report(make_metrics(), timeout_s=90)
    text = flat(pdf_text(data))
    assert data.startswith(b"%PDF")
    assert data.count(b"/Subtype /Image") == 5
    assert FALLBACK not in text


@needs_chromium
def test_export_chart_images_png():
    from mtl_core.charts import report_figures

    figures = [figure for _caption, figure in report_figures(make_metrics())]
    images = export_chart_images(figures, browser_path=CHROMIUM, timeout_s=90)
    assert len(images) == 5
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") for image in images)
