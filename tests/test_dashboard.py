"""Tests of the Streamlit page through streamlit.testing (no browser, no server).

Training runs for real on a 800-row slice of the bundled sample with 2 epochs, 50
bootstrap resamples and at most 30 LightGBM rounds, so a run takes seconds.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from dashboard.job import CANCELLED, TrainingJob
from dashboard.results import verdict_sentence
from dashboard.tasks import TARGETS_LABEL, widget_key
from dashboard.text import md
from dashboard.train import STOPPED_MESSAGE
from mtl_core.charts import SIDE_LABELS, SIDES
from mtl_core.number_format import MINUS
from mtl_core.report_content import RESULT_LABELS
from mtl_core.savings import compute_savings

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "dashboard" / "app.py")
SAMPLE = REPO / "sample_data" / "campaign.csv"
SCRIPT_TIMEOUT_S = 60
TRAIN_TIMEOUT_S = 90
TARGETS = ["clicked", "revenue", "preferred_channel"]


def sample_slice(n_rows: int = 800) -> bytes:
    """Return the header and the first `n_rows` rows of the bundled sample."""
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    return b"".join(lines[: n_rows + 1])


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=SCRIPT_TIMEOUT_S)
    at.run()
    return at


def targets(at: AppTest):
    """Return the targets multiselect, found by label because its key changes."""
    (widget,) = [box for box in at.multiselect if box.label == TARGETS_LABEL]
    return widget


def configure(at: AppTest, data: bytes, names: list[str], epochs: int = 2) -> None:
    """Upload `data`, choose targets and small settings, without training."""
    at.file_uploader(key="upload").upload("small.csv", data, "text/csv")
    at.run()
    targets(at).set_value(names)
    at.number_input(key="epochs").set_value(epochs)
    at.number_input(key="bootstrap").set_value(50)
    at.number_input(key="lightgbm_rounds").set_value(30)
    at.run()


def wait_for_run(at: AppTest, timeout_s: float = TRAIN_TIMEOUT_S) -> None:
    """Rerun the page until the run stored results or an outcome message."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if state.JOB not in at.session_state:
            return
        time.sleep(0.5)
        at.run()
    pytest.fail(f"the run did not end within {timeout_s} s")


def train(at: AppTest) -> dict:
    at.button(key="train").click().run()
    wait_for_run(at)
    assert not at.exception, [e.value for e in at.exception]
    assert state.RESULTS in at.session_state, [e.value for e in at.error]
    return at.session_state[state.RESULTS]["metrics"]


def chart(at: AppTest, key: str) -> dict:
    """Return the plotly figure JSON of the chart with the given key."""
    for element in at.get("plotly_chart"):
        if element.key == key:
            return json.loads(element.proto.spec)
    keys = [element.key for element in at.get("plotly_chart")]
    raise AssertionError(
        f"no chart with key {key!r} among the charts on the page: {keys}"
    )


def metric_cards(at: AppTest) -> dict[str, str]:
    """Return the savings cards' values by result key."""
    by_label = {label: key for key, label in RESULT_LABELS.items()}
    return {by_label[m.label]: m.value for m in at.metric if m.label in by_label}


def card_number(text: str) -> float:
    return float(text.removesuffix(" s").replace(",", "").replace(MINUS, "-"))


def savings_results(savings: dict) -> dict[str, object]:
    """Flatten the result values of the five savings figures by result key."""
    values = {}
    for entry in savings.values():
        if isinstance(entry, dict) and isinstance(entry.get("result"), dict):
            values.update(entry["result"])
    return values


def assert_card_matches(card_text: str, expected) -> None:
    if expected is None or (
        isinstance(expected, float) and not math.isfinite(expected)
    ):
        assert card_text == "n/a"
    elif expected == 0:
        assert card_number(card_text) == 0
    else:
        # Cards show 4 significant digits.
        assert card_number(card_text) == pytest.approx(expected, rel=1e-3)


@pytest.fixture(scope="module")
def trained() -> tuple[AppTest, dict]:
    at = new_app()
    configure(at, sample_slice(), TARGETS)
    metrics = train(at)
    return at, metrics


def test_default_page_renders_sample():
    at = new_app()
    assert not at.exception
    assert not at.error
    headers = [header.value for header in at.header]
    assert "1. Data" in headers
    assert "3. Train and compare" in headers
    assert targets(at).value == [
        "clicked",
        "converted",
        "revenue",
        "retained",
        "preferred_channel",
    ]
    notes = " ".join(i.value for i in at.info)
    assert "customer" in notes
    assert "identifier" in notes
    assert state.RESULTS not in at.session_state


def test_sample_caption_lists_chosen_targets():
    at = new_app()

    caption = next(
        visible_text(c) for c in at.caption if "outcome columns chosen" in c.value
    )

    for name in targets(at).value:
        assert name in caption


def test_upload_limit_in_help():
    at = new_app()
    uploader = at.file_uploader(key="upload")
    assert "200 MB" in uploader.help
    assert uploader.accept_multiple_files


def test_metric_charts_match_metrics(trained):
    at, metrics = trained
    assert not at.exception
    for index, task in enumerate(metrics["tasks"]):
        figure = chart(at, f"chart_metric_{index}")
        bars = {trace["name"]: trace["y"][0] for trace in figure["data"]}
        for side in SIDES:
            value = task["metrics"][side].get(task["primary_metric"])
            assert bars[SIDE_LABELS[side]] == pytest.approx(value), (task["name"], side)


def test_difference_chart_matches_metrics(trained):
    at, metrics = trained
    figure = chart(at, "chart_difference")
    points = sorted(trace["x"][0] for trace in figure["data"])
    expected = sorted(
        comparison["difference"]
        for task in metrics["tasks"]
        for comparison in task["comparisons"].values()
        if comparison["difference"] is not None
    )
    assert points == pytest.approx(expected)


def test_time_chart_matches_fit_seconds(trained):
    at, metrics = trained
    figure = chart(at, "chart_time_cost")
    fit = metrics["fit_seconds"]
    seconds = figure["data"][0]["y"]
    assert seconds == pytest.approx(
        [fit["multitask"], fit["single_task_nn_total"], fit["lightgbm_total"]]
    )
    price = at.session_state["price"]
    costs = figure["data"][1]["y"]
    assert costs == pytest.approx([s / 3600 * price for s in seconds])


def test_savings_cards_match_metrics(trained):
    at, metrics = trained
    cards = metric_cards(at)
    expected = savings_results(metrics["savings"])
    assert set(cards) == set(expected)
    for key, card_text in cards.items():
        assert_card_matches(card_text, expected[key])


def test_verdicts_state_each_comparison(trained):
    at, metrics = trained
    text = "\n".join(m.value for m in at.markdown)
    badges = {
        "separate_better": "Shared model worse",
        "shared_better": "Shared model better",
        "no_clear_difference": "No clear difference",
        "not_available": "n/a",
    }
    for task in metrics["tasks"]:
        for side, comparison in task["comparisons"].items():
            sentence = verdict_sentence(task, side)
            assert f"{badges[comparison['verdict']]}] {sentence}" in text
            if comparison["verdict"] == "separate_better":
                assert "is **worse** than" in sentence


def test_chart_option_keeps_results(trained):
    at, metrics = trained
    runs = at.session_state[state.RUNS_STARTED]
    at.radio(key="metric_layout").set_value("All tasks in one chart").run()
    assert not at.exception
    figure = chart(at, "chart_metric_all")
    assert len(figure["data"]) == 3 * len(metrics["tasks"])
    assert at.session_state[state.RUNS_STARTED] == runs
    assert at.session_state[state.RESULTS]["metrics"] is metrics
    at.radio(key="metric_layout").set_value("One chart per task").run()


def test_price_change_updates_cost_not_run(trained):
    at, metrics = trained
    runs = at.session_state[state.RUNS_STARTED]
    fit_before = json.dumps(metrics["fit_seconds"], sort_keys=True)
    created = metrics["run"]["created_utc"]

    at.number_input(key="price").set_value(1000.0)
    at.number_input(key="upkeep").set_value(50.0)
    at.run()
    assert not at.exception

    expected = compute_savings(metrics, 1000.0, 50.0)["cost_reduction"]["result"]
    cards = metric_cards(at)
    for key in (
        "shared_run_cost",
        "saved_per_run_vs_lightgbm",
        "saved_upkeep_per_month",
    ):
        assert_card_matches(cards[key], expected[key])
    assert card_number(cards["saved_upkeep_per_month"]) == 50.0 * (
        len(metrics["tasks"]) - 1
    )
    costs = chart(at, "chart_time_cost")["data"][1]["y"]
    assert costs[0] == pytest.approx(metrics["fit_seconds"]["multitask"] / 3600 * 1000)

    assert at.session_state[state.RUNS_STARTED] == runs
    results = at.session_state[state.RESULTS]
    assert json.dumps(results["metrics"]["fit_seconds"], sort_keys=True) == fit_before
    assert results["metrics"]["run"]["created_utc"] == created
    assert not [w for w in at.warning if "earlier run" in w.value]
    at.number_input(key="price").set_value(1.0)
    at.number_input(key="upkeep").set_value(0.0)
    at.run()


def test_price_zero_says_runs_cost_nothing(trained):
    at, _ = trained
    at.number_input(key="price").set_value(0.0)
    at.run()
    assert not at.exception

    text = "\n".join(m.value for m in at.markdown)
    assert "every training run costs 0: set the price in the sidebar" in text
    assert "costs 0 less than" not in text
    # The input shows 4 decimals, so a smaller price counts as the 0 it shows.
    at.number_input(key="price").set_value(0.00001)
    at.run()
    text = "\n".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "every training run costs 0: set the price in the sidebar" in text
    assert "A price below 0.00005 shows and counts as 0" in captions
    at.number_input(key="price").set_value(1e9)
    at.run()
    text = "\n".join(m.value for m in at.markdown)
    assert "At 1,000,000,000.0000 per compute hour" in text
    at.number_input(key="price").set_value(1.0)
    at.run()


def test_price_change_reuses_price_free_figures(trained):
    at, _ = trained
    shown_keys = {element.key for element in at.get("plotly_chart")}
    figures = at.session_state[state.FIGURES]["figures"]
    cached_before = {
        key: figure for key, figure in figures.items() if key in shown_keys
    }
    assert "chart_difference" in cached_before
    assert "chart_time_cost" not in cached_before
    specs = {key: chart(at, key) for key in cached_before}

    at.number_input(key="price").set_value(7.5).run()
    assert not at.exception
    cache = at.session_state[state.FIGURES]
    for key, figure in cached_before.items():
        assert cache["figures"][key] is figure, key
        assert chart(at, key) == specs[key], key
    price, _ = cache["time_cost"]
    assert price == 7.5
    at.number_input(key="price").set_value(1.0).run()


@pytest.fixture
def media_managers(monkeypatch) -> list:
    """Record the media file manager that AppTest creates for each run.

    Download buttons store their files there, and AppTest drops the manager
    when the run ends. NOTE: this relies on Streamlit 1.67's AppTest creating
    the manager through its module-level name `MediaFileManager`, and
    `downloaded_text` reads the manager's private `_storage`.
    """
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.testing.v1 import app_test

    managers = []

    class RecordingManager(MediaFileManager):
        def __init__(self, storage) -> None:
            super().__init__(storage)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", RecordingManager)
    return managers


def downloaded_text(manager, button) -> str:
    """Return the file a download button serves, running a deferred callable."""
    url = button.proto.url
    if button.proto.deferred_file_id:
        url = manager.execute_deferred(button.proto.deferred_file_id)
    filename = url.rsplit("/", 1)[-1]
    return manager._storage.get_file(filename).content.decode("utf-8")


def test_downloads_after_price_change(trained, media_managers):
    at, metrics = trained
    at.number_input(key="price").set_value(7.5)
    at.number_input(key="upkeep").set_value(20.0)
    at.run()
    assert not at.exception
    buttons = {button.key: button for button in at.get("download_button")}
    manager = media_managers[-1]

    exported = json.loads(downloaded_text(manager, buttons["download_json"]))
    expected = compute_savings(metrics, 7.5, 20.0)
    assert exported["savings"]["price_per_hour"] == 7.5
    assert exported["savings"]["upkeep_per_model_month"] == 20.0
    assert exported["run"]["settings"]["price_per_hour"] == 7.5
    assert exported["savings"]["cost_reduction"]["result"] == pytest.approx(
        expected["cost_reduction"]["result"]
    )
    csv_text = downloaded_text(manager, buttons["download_csv"])
    assert csv_text.splitlines()[0].startswith("record,task")
    page = downloaded_text(manager, buttons["download_html"])
    assert "Price per hour of compute: 7.5000." in page
    assert "Upkeep per model and month: 20.00." in page

    at.number_input(key="price").set_value(1.0)
    at.number_input(key="upkeep").set_value(0.0)
    at.run()


def test_new_results_rebuild_figures():
    from fixtures_metrics import make_metrics

    def show(metrics: dict) -> None:
        at.session_state[state.RESULTS] = {
            "metrics": metrics,
            "run_key": "hand-built",
            "description": {"data_label": "bank-full.csv"},
        }
        at.run()
        assert not at.exception

    at = new_app()
    metrics = make_metrics()
    show(metrics)
    task = metrics["tasks"][0]
    metric = task["primary_metric"]
    shared = SIDE_LABELS["multitask"]

    def shared_bar() -> float:
        figure = chart(at, "chart_metric_0")
        (trace,) = [trace for trace in figure["data"] if trace["name"] == shared]
        return trace["y"][0]

    assert shared_bar() == pytest.approx(task["metrics"]["multitask"][metric])
    changed = make_metrics()
    changed["tasks"][0]["metrics"]["multitask"][metric] = 0.123
    show(changed)
    assert shared_bar() == pytest.approx(0.123)


def test_changed_setting_marks_results_stale(trained):
    at, _ = trained
    at.number_input(key="seed").set_value(7).run()
    assert any("earlier run" in w.value for w in at.warning)
    at.number_input(key="seed").set_value(0).run()
    assert not any("earlier run" in w.value for w in at.warning)


def test_reordered_targets_keep_results_current(trained):
    at, _ = trained
    picked = list(targets(at).value)

    targets(at).set_value(picked[::-1]).run()
    reordered_warnings = [w.value for w in at.warning if "earlier run" in w.value]
    targets(at).set_value(picked[:-1]).run()
    fewer_warnings = [w.value for w in at.warning if "earlier run" in w.value]
    targets(at).set_value(picked).run()

    assert not reordered_warnings
    assert fewer_warnings


def test_exports_match_priced_metrics(trained):
    from dashboard.exports import html_report, metrics_csv, metrics_json
    from dashboard.results import priced_metrics

    at, metrics = trained
    priced = priced_metrics(metrics, 2.0, 10.0)
    exported = json.loads(metrics_json(priced))
    assert exported["savings"]["price_per_hour"] == 2.0
    assert exported["fit_seconds"]["multitask"] == metrics["fit_seconds"]["multitask"]
    assert metrics_csv(priced).splitlines()[0].startswith("record,task")
    page = html_report(priced)
    assert page.startswith("<!DOCTYPE html>")
    assert html_report(priced) is page  # cached by the metrics hash
    keys = [button.key for button in at.get("download_button")]
    assert {"download_html", "download_csv", "download_json"} <= set(keys)


def test_export_caption_matches_csv_content(trained):
    from dashboard.exports import metrics_csv
    from dashboard.results import priced_metrics

    at, metrics = trained
    records = {
        line.split(",")[0]
        for line in metrics_csv(priced_metrics(metrics, 2.0, 10.0)).splitlines()[1:]
    }
    caption = next(c.value for c in at.caption if "metrics.csv" in c.value)
    # The CSV has no savings rows, so the caption must not promise them there.
    assert records == {"metric", "comparison"}
    assert "metrics.csv has the per-task metrics and comparisons only" in caption


def visible_text(element) -> str:
    """Return an element's Markdown without the escaping backslashes."""
    return element.value.replace("\\", "")


def test_empty_file_shows_error():
    at = new_app()
    at.file_uploader(key="upload").upload("empty.csv", b"", "text/csv")
    at.run()
    assert not at.exception
    assert at.error, "an empty file must show an error"
    assert "Could not read empty.csv" in visible_text(at.error[0])
    assert "upload it again" in visible_text(at.error[0])
    assert state.DATA not in at.session_state
    at.number_input(key="seed").set_value(3).run()  # any rerun shows it again
    assert "Could not read empty.csv" in visible_text(at.error[0])


def test_header_only_file_shows_error():
    at = new_app()
    at.file_uploader(key="upload").upload("head.csv", b"a,b,c\n", "text/csv")
    at.run()
    assert not at.exception
    assert "Could not read head.csv" in visible_text(at.error[0])


def test_error_tells_same_named_files_apart():
    at = new_app()
    uploader = at.file_uploader(key="upload")
    uploader.upload("export.csv", b"a,b\n1,2\n3,4\n", "text/csv")
    uploader.upload("export.csv", b"", "text/csv")
    at.run()
    assert not at.exception
    message = visible_text(at.error[0])
    assert "Could not read export.csv, export.csv (2)" in message
    assert "export.csv (2)" in message.split(":**", 1)[1]


def test_unexpected_load_failure_is_one_line(monkeypatch):
    def broken_loader(sources):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("dashboard.data.load_csvs", broken_loader)
    at = new_app()
    assert not at.exception
    message = visible_text(at.error[0])
    assert "RuntimeError: disk on fire" in message
    assert "Traceback" not in message


def test_failed_run_shows_reason(monkeypatch):
    import dashboard.job
    from mtl_core.errors import MtlError

    def failing_run(frame, config, **options):
        raise MtlError("training the network for age failed: the loss was not finite")

    monkeypatch.setattr(dashboard.job, "run_comparison", failing_run)
    at = new_app()
    configure(at, sample_slice(200), ["age"])
    at.button(key="train").click().run()
    wait_for_run(at)
    assert not at.exception
    assert state.RESULTS not in at.session_state
    errors = [visible_text(e) for e in at.error]
    assert any("The run failed" in e and "loss was not finite" in e for e in errors)


def test_new_upload_drops_old_results(trained):
    at = new_app()
    configure(at, sample_slice(400), ["clicked", "converted"])
    train(at)
    old_key = at.session_state[state.DATA]["key"]
    at.file_uploader(key="upload").clear()
    at.file_uploader(key="upload").upload("other.csv", sample_slice(300), "text/csv")
    at.run()
    assert not at.exception
    assert at.session_state[state.DATA]["key"] != old_key
    assert state.RESULTS not in at.session_state
    assert len(at.session_state[state.UPLOAD_HASHES]) == 1


def test_stop_cancels_run(monkeypatch):
    # Each progress event waits a little, so the real run is still going when
    # Stop is clicked, however fast the machine trains.
    original = TrainingJob._on_progress

    def slow_progress(job, event):
        time.sleep(0.05)
        return original(job, event)

    monkeypatch.setattr(TrainingJob, "_on_progress", slow_progress)
    at = new_app()
    configure(at, sample_slice(2000), ["clicked", "revenue"], epochs=500)
    at.button(key="train").click().run()
    job = at.session_state[state.JOB]
    deadline = time.monotonic() + 30
    while job.snapshot().latest is None and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    at.button(key="stop").click().run()
    wait_for_run(at, timeout_s=60)

    assert not at.exception
    assert job.status == CANCELLED
    assert state.RESULTS not in at.session_state
    assert any(STOPPED_MESSAGE in w.value for w in at.warning)
    assert not at.button(key="train").disabled


def test_queued_run_says_it_waits():
    from mtl_core import compare

    at = new_app()
    configure(at, sample_slice(300), ["clicked"])
    # Another session's run holds the lock that runs take turns on.
    compare._RUN_LOCK.acquire()
    try:
        at.button(key="train").click().run()
        job = at.session_state[state.JOB]
        deadline = time.monotonic() + 30
        while not job.snapshot().queued and time.monotonic() < deadline:
            time.sleep(0.1)
        at.run()
        progress = [element.proto.text for element in at.get("progress")]
    finally:
        compare._RUN_LOCK.release()
    wait_for_run(at)

    assert job.snapshot().queued is False
    assert len(progress) == 1
    assert progress[0].startswith("Waiting for another run on this server to end")
    assert state.RESULTS in at.session_state


@pytest.mark.parametrize(("page_open", "status"), [(False, CANCELLED), (True, "done")])
def test_run_stops_when_page_gone(monkeypatch, page_open, status):

    import dashboard.job
    from mtl_core.config import CompareConfig
    from mtl_core.loading import load_csvs
    from mtl_core.tasks import TaskSpec

    monkeypatch.setattr(dashboard.job, "PAGE_GRACE_S", 0.0)
    frame = load_csvs([("sample.csv", sample_slice(300))]).frame
    config = CompareConfig(
        targets=(TaskSpec("clicked"),), max_epochs=2, n_bootstrap=0, lightgbm_rounds=5
    )
    job = TrainingJob(run_key="page", description={}, page_open=lambda: page_open)

    job.start(frame, config, [], [])
    job.join(timeout_s=120)

    assert job.status == status


def test_derived_target_added():
    at = new_app()
    data_key = at.session_state[state.DATA]["key"]
    at.selectbox(key=widget_key("derived_column", data_key)).set_value("revenue")
    at.selectbox(key=widget_key("derived_operator", data_key)).set_value(">")
    at.number_input(key=widget_key("derived_threshold", data_key)).set_value(0.0)
    at.button(key="derived_add").click().run()
    assert not at.exception
    assert "revenue>0" in targets(at).value
    tables = [frame.value for frame in at.dataframe]
    assert any("revenue>0" in set(table.get("Task", [])) for table in tables)
    # No "default value and Session State" warning from Streamlit.
    assert not [w for w in at.warning if "Session State" in w.value]


def test_invalid_kind_skips_target():
    at = new_app()
    targets(at).set_value(["clicked", "region"])
    at.run()
    kind = next(box for box in at.selectbox if box.label == "Kind of region")
    kind.set_value("regression").run()
    assert not at.exception
    assert any("region" in w.value and "skipped" in w.value for w in at.warning)


def test_kind_label_escapes_column_name():
    name = "**clicked** [x](http://127.0.0.1:9/)"
    data = f"{name},spend\n" + "".join(
        f"{'yes' if i % 3 else 'no'},{i}\n" for i in range(60)
    )
    at = new_app()
    configure(at, data.encode(), [name])

    labels = [box.label for box in at.selectbox if box.label.startswith("Kind of")]

    assert labels == [f"Kind of {md(name)}"]
    assert labels[0].startswith(r"Kind of \*\*clicked\*\* \[x\]")


def test_targets_kept_after_setting_change():
    at = new_app()
    chosen = targets(at).value
    at.number_input(key="epochs").set_value(5).run()
    assert targets(at).value == chosen


def test_pdf_built_on_request(trained):
    at, metrics = trained
    runs = at.session_state[state.RUNS_STARTED]
    at.button(key="build_pdf").click().run(timeout=120)
    assert not at.exception
    assert not [e.value for e in at.error if "PDF" in e.value]
    pdf = at.session_state[state.PDF]
    assert pdf["bytes"].startswith(b"%PDF")
    keys = [button.key for button in at.get("download_button")]
    assert "download_pdf" in keys
    assert at.session_state[state.RUNS_STARTED] == runs
    # A new price changes the report, so the PDF must be prepared again.
    at.number_input(key="price").set_value(3.0).run()
    assert state.PDF not in at.session_state
    at.number_input(key="price").set_value(1.0).run()


def test_hand_built_metrics_show_loss_and_na(hand_built_page):
    at = hand_built_page
    losses = [visible_text(e) for e in at.error if "is worse on" in e.value]
    assert len(losses) == 1
    assert "revenue (against LightGBM)" in losses[0]
    tables = [frame.value for frame in at.dataframe]
    cells = [str(cell) for table in tables for cell in table.to_numpy().ravel()]
    assert any(
        cell.startswith("n/a: class 'web' has no training rows") for cell in cells
    )
    assert any("earlier run" in w.value for w in at.warning)


def _errors_after_upload(text: str, names: list[str]) -> tuple[AppTest, list[str]]:
    """Upload CSV ``text`` and choose the targets ``names``, then return the errors."""
    at = new_app()
    configure(at, text.encode(), names)
    assert not at.exception
    return at, [visible_text(error) for error in at.error]


def test_no_feature_left_blocks_training():
    rows = "".join(f"r{i},{'yes' if i % 3 else 'no'}\n" for i in range(60))
    at, errors = _errors_after_upload("customer_id,clicked\n" + rows, ["clicked"])
    assert any("No feature column is left" in e and "customer_id" in e for e in errors)
    # The identifier was left out automatically, so excluding fewer cannot help.
    assert not any("exclude fewer" in e for e in errors)
    assert not [b for b in at.button if b.key == "train" and not b.disabled]


def test_all_columns_targets_suggests_fewer():
    rows = "".join(f"{i % 7},{'yes' if i % 3 else 'no'}\n" for i in range(60))
    _, errors = _errors_after_upload("visits,clicked\n" + rows, ["visits", "clicked"])

    assert any("choose fewer targets" in e for e in errors)
    # The column that records each row's file is internal, so it is not listed.
    assert not any("source" in e for e in errors)


def test_skipped_target_left_out_of_features():
    header = "visits,region,clicked\n"
    rows = "".join(f"{i % 7},r{i},{'yes' if i % 3 else 'no'}\n" for i in range(120))
    at = new_app()
    configure(at, (header + rows).encode(), ["region", "clicked"])
    assert not at.exception

    skipped = [visible_text(w) for w in at.warning if "will be skipped" in w.value]
    features = [c.value for c in at.caption if c.value.startswith("Features")]
    assert len(skipped) == 1
    assert skipped[0].endswith(".")
    assert features == ["Features (1): visits"]


def test_too_few_rows_block_training_early():
    rows = "".join(f"{i % 7},{'yes' if i % 3 else 'no'}\n" for i in range(25))
    at, errors = _errors_after_upload("visits,clicked\n" + rows, ["clicked"])

    assert any("only 25 rows: at least 30 are needed" in e for e in errors)
    assert at.button(key="train").disabled


def test_metric_tables_use_display_names(trained):
    at, _ = trained
    names = {
        name
        for frame in at.dataframe
        for name in frame.value.iloc[:, 0]
        if isinstance(name, str)
    }

    assert "ROC AUC (primary)" in names
    assert not any(name.startswith(("Roc ", "Pr auc", "Rmse")) for name in names)


def test_rare_class_verdict_rough_guide(trained):
    _, metrics = trained
    task = copy.deepcopy(metrics["tasks"][0])
    task["classes"] = ["no", "yes"]
    task["test_class_counts"] = [190, 2]

    sentence = verdict_sentence(task, "lightgbm")
    plain = verdict_sentence(metrics["tasks"][0], "lightgbm")

    assert sentence.replace("\\", "").endswith(
        "Only 2 test rows are of class 'yes', so this is a rough guide."
    )
    assert "rough guide" not in plain


def test_losses_name_each_task_once():
    from dashboard.results import _losses

    lost = {"verdict": "separate_better"}
    task = {
        "name": "TechSupport",
        "comparisons": {"single_task_nn": lost, "lightgbm": lost},
    }

    losses = _losses({"tasks": [task]})

    assert losses == ["TechSupport (against the single-task networks and LightGBM)"]


def test_short_durations_keep_two_digits():
    from dashboard.text import seconds

    assert seconds(0.04274) == "0.043 s"
    assert seconds(0.0912) == "0.091 s"
    assert seconds(12.34) == "12.3 s"
    assert seconds(150) == "2.5 min"


def test_accuracy_sentence_counts_clear_wins_and_losses():
    from fixtures_metrics import make_metrics

    from dashboard.results import _savings_sentence, priced_metrics

    priced = priced_metrics(make_metrics(), 1.0, 0.0)

    sentence = _savings_sentence(
        "accuracy_gain", priced["savings"]["accuracy_gain"], priced
    )

    # The fixture's verdicts: two clear wins against the single-task networks, one
    # clear loss (revenue) against LightGBM.
    assert "better on 2 and worse on 0 against the single-task networks" in sentence
    assert "better on 0 and worse on 1 against LightGBM" in sentence
    assert "(of 3 tasks)" in sentence


def test_automatic_exclusions_in_one_note():
    header = "customer_id,constant,visits,clicked\n"
    rows = "".join(f"r{i},7,{i % 5},{'yes' if i % 3 else 'no'}\n" for i in range(60))
    at = new_app()
    configure(at, (header + rows).encode(), ["clicked"])
    assert not at.exception

    notes = [visible_text(i) for i in at.info if "automatically" in i.value]

    assert len(notes) == 1
    assert "customer_id" in notes[0]
    assert "constant" in notes[0]
    assert not any("not used as a feature" in w.value for w in at.warning)


def test_single_target_warned_before_and_after_training():
    at = new_app()
    configure(at, sample_slice(), ["clicked"])

    before = [w.value for w in at.warning if "only one target" in w.value]
    train(at)
    after = [w.value for w in at.warning if "only one target" in w.value]
    captions = " ".join(c.value for c in at.caption)
    sentences = " ".join(m.value for m in at.markdown)

    assert len(before) == 1
    assert before[0].startswith("Check before training:")
    # Once in the targets section, once among the run's warnings above the verdicts.
    assert len(after) == 2
    assert "One shared model replaces 1 separate model." in sentences
    assert "UTC" in captions
    assert "+00:00" not in captions


@pytest.mark.parametrize(
    ("n_tasks", "t_shared", "t_single", "phrase"),
    [
        (3, 30.0, 48.2, "together (faster)."),
        (3, 46.0, 48.2, "together (about the same)."),
        (3, 60.0, 48.2, "together (slower)."),
        (1, 0.27, 0.52, "for the single-task network. With one task the shared"),
    ],
)
def test_time_sentence_calls_small_gaps_noise(n_tasks, t_shared, t_single, phrase):
    from fixtures_metrics import make_metrics

    from dashboard.results import _savings_sentence, priced_metrics

    priced = priced_metrics(make_metrics(), 1.0, 0.0)
    entry = priced["savings"]["task_efficiency"]
    entry["inputs"].update(T=n_tasks, t_shared_s=t_shared, sum_t_single_s=t_single)
    entry["result"]["time_ratio"] = t_shared / t_single

    sentence = _savings_sentence("task_efficiency", entry, priced)

    assert phrase in sentence


def test_verdict_figures_match_the_report():
    from fixtures_metrics import make_metrics

    from mtl_core.report_content import findings, verdict_table

    metrics = make_metrics()
    task = metrics["tasks"][0]
    task["metrics"]["multitask"][task["primary_metric"]] = 75.0
    task["metrics"]["lightgbm"][task["primary_metric"]] = 167.543
    task["comparisons"]["lightgbm"].update(
        verdict="separate_better", difference=-92.543, ci_low=-101.6, ci_high=-84.005
    )

    sentence = verdict_sentence(task, "lightgbm").replace("\\", "")
    report_cells = " ".join(" ".join(row) for row in verdict_table(metrics).rows)
    report_text = " ".join(finding.text for finding in findings(metrics))

    assert "75.0 against 167.5" in sentence
    assert "75.0 against 167.5" in report_text
    assert f"{MINUS}92.5, 95% interval {MINUS}101.6 to {MINUS}84.0" in sentence
    assert f"{MINUS}92.5 (95% interval {MINUS}101.6 to {MINUS}84.0)" in report_cells


def test_gain_sentence_leaves_thin_tasks_out():
    from fixtures_metrics import make_metrics

    from dashboard.results import _savings_sentence, priced_metrics

    priced = priced_metrics(make_metrics(), 1.0, 0.0)
    entry = priced["savings"]["accuracy_gain"]
    entry["inputs"]["tasks_left_out_of_means"] = ["click"]
    some = _savings_sentence("accuracy_gain", entry, priced)
    for side in ("single_task_nn", "lightgbm"):
        entry["result"][f"mean_relative_gain_pct_vs_{side}"] = None
    every = _savings_sentence("accuracy_gain", entry, priced)

    assert some.endswith(
        "Left out of the average: click, with a class under 10 test rows."
    )
    assert every.startswith("n/a: every task has a class with fewer than 10 test rows")


def test_one_task_time_gaps_called_noise():
    from fixtures_metrics import make_metrics

    from dashboard.results import _savings_sentence, priced_metrics

    metrics = make_metrics()
    metrics["tasks"] = metrics["tasks"][:1]
    priced = priced_metrics(metrics, 1.0, 0.0)
    for key in ("training_time_saved", "cost_reduction"):
        sentence = _savings_sentence(key, priced["savings"][key], priced)

        assert "so the gap between their times is run-to-run noise." in sentence


def test_one_target_cost_saves_no_upkeep():
    from fixtures_metrics import make_metrics

    from dashboard.results import _savings_sentence, priced_metrics

    priced = priced_metrics(make_metrics(), 1.0, 20.0)
    entry = priced["savings"]["cost_reduction"]
    entry["inputs"]["T"] = 1

    sentence = _savings_sentence("cost_reduction", entry, priced)

    assert "saves no upkeep" in sentence
    assert "instead of 1" not in sentence
    assert "instead of several" not in sentence


def test_upkeep_saving_names_currency():
    from fixtures_metrics import make_metrics

    from dashboard.results import _savings_sentence, priced_metrics

    priced = priced_metrics(make_metrics(), 1.0, 20.0)
    entry = priced["savings"]["cost_reduction"]

    sentence = _savings_sentence("cost_reduction", entry, priced)

    assert "a month in upkeep, in the currency of your prices." in sentence


def test_one_loss_named_as_one_task():
    from fixtures_metrics import make_metrics

    from dashboard.results import _losses, priced_metrics

    priced = priced_metrics(make_metrics(), 1.0, 0.0)
    at = AppTest.from_function(_show_verdicts, args=(priced,))
    at.run()

    assert len(_losses(priced)) == 1
    assert "For this task separate models" in at.error[0].value


def _show_verdicts(priced):
    from dashboard.results import _verdicts

    _verdicts(priced)


def chart_strings(spec: dict) -> list[str]:
    """Return every string of a plotly figure JSON except its template."""
    spec = copy.deepcopy(spec)
    spec.get("layout", {}).pop("template", None)
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(spec)
    return found


def page_texts(at: AppTest) -> list[str]:
    """Return the visible text of the page: Markdown, tables, cards and charts."""
    texts = [visible_text(e) for e in [*at.markdown, *at.caption]]
    texts += [visible_text(e) for e in [*at.error, *at.warning, *at.info]]
    texts += [card.value for card in at.metric]
    for frame in at.dataframe:
        texts += [str(cell) for cell in frame.value.to_numpy().ravel()]
    for element in at.get("plotly_chart"):
        texts += chart_strings(json.loads(element.proto.spec))
    return texts


@pytest.fixture(scope="module")
def hand_built_page() -> AppTest:
    from fixtures_metrics import make_metrics

    at = new_app()
    at.session_state[state.RESULTS] = {
        "metrics": make_metrics(),
        "run_key": "hand-built",
        "description": {"data_label": "bank-full.csv"},
    }
    at.run()
    assert not at.exception
    return at


def test_charts_use_metric_display_names(hand_built_page):
    spec = chart(hand_built_page, "chart_metric_0")
    titles = [annotation["text"] for annotation in spec["layout"]["annotations"]]

    assert titles == ["subscribed: ROC AUC"]
    assert spec["layout"]["yaxis"]["title"]["text"] == "ROC AUC (higher is better)"
    for key in ("roc_auc", "macro_f1", "rmse"):
        assert not [t for t in page_texts(hand_built_page) if key in t], key


def test_counts_have_thousands_separators(hand_built_page):
    captions = " ".join(visible_text(c) for c in hand_built_page.caption)
    settings = {
        row[0]: row[1]
        for frame in hand_built_page.dataframe
        if list(frame.value.columns) == ["Setting", "Value"]
        for row in frame.value.itertuples(index=False)
    }

    assert "45,211 rows" in captions
    assert "1,000 bootstrap resamples" in captions
    assert settings["n_bootstrap"] == "1,000"
    assert "45211" not in " ".join(page_texts(hand_built_page))


def test_price_has_one_format(hand_built_page):
    texts = page_texts(hand_built_page)
    joined = " ".join(texts)
    settings = {
        row[0]: row[1]
        for frame in hand_built_page.dataframe
        if list(frame.value.columns) == ["Setting", "Value"]
        for row in frame.value.itertuples(index=False)
    }

    # The sidebar's default price is 1.0, which its input shows as 1.0000.
    prices = set(re.findall(r"(\d\S*) per (?:compute )?hour", joined))
    assert prices == {"1.0000"}
    assert "price_per_hour = 1.0000" in joined
    assert settings["price_per_hour"] == "1.0000"
    assert settings["upkeep_per_model_month"] == "0.00"


def test_negative_numbers_use_minus_sign(hand_built_page):
    texts = page_texts(hand_built_page)
    hyphen_minus = [text for text in texts if re.search(r"(?<![\w.])-\d", text)]

    assert hyphen_minus == []
    assert any(f"{MINUS}36.4" in text for text in texts)


def test_page_counts_before_training():
    at = new_app()
    configure(at, sample_slice(1500), TARGETS)
    assert not at.exception
    preview = " ".join(visible_text(m) for m in at.markdown)
    (tasks,) = [f.value for f in at.dataframe if "Labelled rows" in f.value.columns]
    (files,) = [f.value for f in at.dataframe if "n_rows" in f.value.columns]

    assert "**1,500 rows**" in preview
    assert list(tasks["Labelled rows"])[0] == "1,500"
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", n) for n in tasks["Labelled rows"])
    assert list(files["n_rows"]) == ["1,500"]


def test_yes_no_classes_keep_data_spelling(trained):
    at, metrics = trained
    (clicked,) = [task for task in metrics["tasks"] if task["name"] == "clicked"]
    (tasks,) = [f.value for f in at.dataframe if "Classes" in f.value.columns]
    classes_by_task = dict(zip(tasks["Task"], tasks["Classes"], strict=True))

    assert clicked["classes"] == ["no", "yes"]
    assert classes_by_task["clicked"] == "no, yes"


def test_loading_warnings_shown_above_notes():
    at = new_app()
    uploader = at.file_uploader(key="upload")
    uploader.upload("first.csv", sample_slice(200), "text/csv")
    uploader.upload("copy.csv", sample_slice(200), "text/csv")
    at.run()
    assert not at.exception
    warning_texts = [visible_text(element) for element in at.warning]
    duplicate = [text for text in warning_texts if "duplicate file" in text]
    assert len(duplicate) == 1
    assert "copy.csv" in duplicate[0]


def test_header_warning_shown_before_column_warnings():
    # No header row: the first data row becomes the header, with names alike.
    values = ["web", "shop"]
    rows = "".join(
        ",".join(values[(i + j) % 2] if j < 6 else str(i % 5) for j in range(8)) + "\n"
        for i in range(80)
    )
    at = new_app()
    at.file_uploader(key="upload").upload("noheader.csv", rows.encode(), "text/csv")
    at.run()
    assert not at.exception

    box = next(visible_text(w) for w in at.warning if "before training" in w.value)
    lines = box.splitlines()[1:]

    assert "looks like data" in lines[0]
    assert len([line for line in lines if "more than one column" in line]) == 4
    assert "1 more warning" in lines[-1]


def test_server_config_spares_the_training_thread():
    """The project's config turns off the work Streamlit does after every rerun.

    With it on, a full garbage collection and a walk over every imported module
    after each progress refresh held the interpreter lock, and a run in a second
    session slowed the first one's training several times over.
    """
    import subprocess
    import sys

    script = (
        "from streamlit import config\n"
        "for name in ('runner.postScriptGC', 'server.fileWatcherType',\n"
        "             'client.toolbarMode', 'browser.gatherUsageStats'):\n"
        "    print(name, config.get_option(name))\n"
    )
    options = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert options == [
        "runner.postScriptGC False",
        "server.fileWatcherType none",
        "client.toolbarMode minimal",
        "browser.gatherUsageStats False",
    ]
