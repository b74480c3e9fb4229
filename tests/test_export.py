"""Tests of the CSV and JSON exports and of write_outputs."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import stat

import numpy as np
import pytest

from mtl_core import export
from mtl_core.errors import InputError
from mtl_core.export import (
    CSV_COLUMNS,
    json_safe,
    metrics_to_csv,
    metrics_to_json,
    spreadsheet_cell,
    write_outputs,
)
from tests.fixtures_metrics import make_metrics

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-45", "'-45"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-45.0, "-45.0"),
        (0.912, "0.912"),
        (45211, "45211"),
        (np.float64(-1.5), "-1.5"),
        (np.int64(7), "7"),
        (math.nan, ""),
        (math.inf, ""),
        (None, ""),
        (True, "true"),
    ],
    ids=[
        "equals",
        "plus",
        "minus",
        "at",
        "tab",
        "carriage-return",
        "numeric-text",
        "plain",
        "inner-equals",
        "negative-float",
        "float",
        "int",
        "numpy-float",
        "numpy-int",
        "nan",
        "inf",
        "none",
        "bool",
    ],
)
def test_spreadsheet_cell(value, expected):
    assert spreadsheet_cell(value) == expected


def test_csv_header():
    rows = read_csv(metrics_to_csv(make_metrics()))
    assert rows[0] == list(CSV_COLUMNS)


def test_csv_row_counts():
    rows = read_csv(metrics_to_csv(make_metrics()))[1:]
    records = [row[0] for row in rows]
    # 3 sides x (5 binary + 3 multiclass + 3 regression metrics) and 2 per task.
    assert records.count("metric") == 33
    assert records.count("comparison") == 6


def test_csv_neutralises_hostile_names():
    names = ("=SUM(A1)", "+1", "-cmd")
    metrics = make_metrics(task_names=names)
    metrics["tasks"][0]["unavailable"] = {"lightgbm": {"f1": "@x"}}
    metrics["tasks"][1]["kind"] = "\tmulticlass"
    rows = read_csv(metrics_to_csv(metrics))
    for row in rows:
        for cell in row:
            assert is_number(cell) or not cell.startswith(FORMULA_PREFIXES), cell
    tasks = {row[1] for row in rows[1:]}
    assert tasks == {"'=SUM(A1)", "'+1", "'-cmd"}
    assert any(row[-1] == "'@x" for row in rows)


def test_csv_neutralises_header(monkeypatch):
    monkeypatch.setattr(export, "CSV_COLUMNS", (*CSV_COLUMNS, "=HYPERLINK(1)", "\rx"))
    header = read_csv(metrics_to_csv(make_metrics()))[0]
    assert header[-2:] == ["'=HYPERLINK(1)", "'\rx"]


def test_csv_keeps_negative_numbers():
    metrics = make_metrics()
    metrics["tasks"][2]["metrics"]["lightgbm"]["r2"] = -45.0
    rows = read_csv(metrics_to_csv(metrics))
    by_key = {(row[1], row[3], row[4], row[0]): row for row in rows[1:]}
    assert by_key[("revenue", "lightgbm", "r2", "metric")][5] == "-45.0"
    comparison = by_key[("revenue", "lightgbm", "rmse", "comparison")]
    assert comparison[5:9] == ["-132.2", "-185.9", "-80.4", "separate_better"]


def test_csv_unavailable_metric_has_reason():
    rows = read_csv(metrics_to_csv(make_metrics()))
    row = next(
        r
        for r in rows
        if r[1] == "channel" and r[3] == "lightgbm" and r[4] == "log_loss"
    )
    assert row[5] == ""
    assert row[-1].startswith("class 'web' has no training rows")


def test_csv_labelled_rows_columns():
    rows = read_csv(metrics_to_csv(make_metrics()))
    header = rows[0]
    row = next(r for r in rows[1:] if r[1] == "channel")
    assert row[header.index("labelled_rows")] == "38120"
    assert row[header.index("labelled_test_rows")] == "7624"


def test_json_safe_replaces_nan():
    value = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": (1, 2)}
    assert json_safe(value) == {"a": None, "b": [None, None, 1.5], "c": [1, 2]}


def test_json_safe_converts_numpy():
    value = {"x": np.float32(0.5), "y": np.int64(3), "z": np.array([1.0, np.nan])}
    assert json_safe(value) == {"x": 0.5, "y": 3, "z": [1.0, None]}


def test_json_safe_rejects_objects():
    with pytest.raises(TypeError, match=r"metrics\['run'\]\['bad'\] has type object"):
        json_safe({"run": {"bad": object()}})


def test_metrics_json_sorted_and_indented():
    text = metrics_to_json({"b": 1, "a": {"d": math.nan, "c": 2}})
    assert text == '{\n  "a": {\n    "c": 2,\n    "d": null\n  },\n  "b": 1\n}'


def test_write_outputs_files(tmp_path):
    out_dir = tmp_path / "nested" / "out"
    paths = write_outputs(make_metrics(), out_dir)
    assert set(paths) == {"json", "csv", "html"}
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "metrics.csv",
        "metrics.json",
        "report.html",
    ]
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == make_metrics()
    assert paths["csv"].read_text(encoding="utf-8").startswith("record,task,")
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_outputs_json_has_no_nan(tmp_path):
    metrics = make_metrics()
    metrics["tasks"][0]["metrics"]["multitask"]["log_loss"] = math.nan
    metrics["fit_seconds"]["multitask"] = np.float64(math.inf)
    paths = write_outputs(metrics, tmp_path)
    text = paths["json"].read_text(encoding="utf-8")
    assert "NaN" not in text
    assert "Infinity" not in text
    loaded = json.loads(text)
    assert loaded["tasks"][0]["metrics"]["multitask"]["log_loss"] is None
    assert loaded["fit_seconds"]["multitask"] is None
    assert text == json.dumps(loaded, sort_keys=True, indent=2) + "\n"


def test_write_outputs_keeps_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "report.pdf").write_bytes(b"older pdf")
    write_outputs(make_metrics(), tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "report.pdf").read_bytes() == b"older pdf"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_outputs_warns_on_replace(tmp_path, caplog):
    (tmp_path / "metrics.json").write_text("{}", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="mtl_core.export"):
        write_outputs(make_metrics(), tmp_path)
    assert "Replacing existing output file" in caplog.text
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))


def test_write_outputs_file_mode(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    paths = write_outputs(make_metrics(), tmp_path)
    mode = stat.S_IMODE(paths["json"].stat().st_mode)
    assert mode == 0o666 & ~umask


def test_write_outputs_rejects_file_as_dir(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a directory", encoding="utf-8")
    with pytest.raises(InputError, match="is a file; choose a directory"):
        write_outputs(make_metrics(), target)


def test_write_outputs_rejects_dir_as_target(tmp_path):
    (tmp_path / "metrics.json").mkdir()
    with pytest.raises(InputError, match="metrics.json.*is a directory"):
        write_outputs(make_metrics(), tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_outputs_pdf(tmp_path):
    paths = write_outputs(make_metrics(), tmp_path, pdf=True, chart_images=False)
    assert paths["pdf"].name == "report.pdf"
    assert paths["pdf"].read_bytes().startswith(b"%PDF")


def test_csv_primary_metric_rows_carry_intervals():
    metrics = make_metrics()
    task = metrics["tasks"][0]
    rows = read_csv(metrics_to_csv(metrics))
    header = rows[0]
    low, high = header.index("ci_low"), header.index("ci_high")

    for row in rows[1:]:
        if row[0] != "metric" or row[1] != task["name"]:
            continue
        side = row[header.index("side")]
        if row[header.index("metric")] == task["primary_metric"]:
            expected = task["metric_intervals"][side]
            assert [float(row[low]), float(row[high])] == expected
        else:
            assert row[low] == row[high] == ""
