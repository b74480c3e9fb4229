"""Messy and hostile CSVs through the whole CLI: a clear message or a correct run."""

import json

import numpy as np
import pytest

from mtl_core.cli import main

N_ROWS = 90


def _rows(n_rows=N_ROWS, seed=0):
    """Columns of a small campaign: a usable feature, a category and two outcomes."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n_rows)
    return {
        "signal": signal,
        "region": rng.choice(["north", "south", "east"], n_rows),
        "clicked": np.where(signal + rng.normal(0, 0.7, n_rows) > 0, "yes", "no"),
        "spend": np.round(np.exp(rng.normal(3, 1, n_rows)), 2),
    }


def _csv(columns: dict, sep=",", line_end="\n", formatters=None) -> str:
    formatters = formatters or {}
    names = list(columns)
    lines = [sep.join(names)]
    for i in range(len(columns[names[0]])):
        cells = [formatters.get(name, str)(columns[name][i]) for name in names]
        lines.append(sep.join(cells))
    return line_end.join(lines) + line_end


def _run(tmp_path, files, targets, *extra):
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(str(path))
    argv = [
        "compare",
        *paths,
        "--out",
        str(tmp_path / "out"),
        "--epochs",
        "2",
        "--bootstrap",
        "30",
        *extra,
    ]
    for target in targets:
        argv += ["--target", target]
    status = main(argv)
    metrics = None
    if status == 0:
        metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    return status, metrics


def _excluded(metrics):
    return {
        item["column"]: item["reason"] for item in metrics["run"]["excluded_columns"]
    }


@pytest.mark.parametrize("sep", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_delimiters_detected(tmp_path, sep):
    status, metrics = _run(tmp_path, {"a.csv": _csv(_rows(), sep=sep)}, ["clicked"])
    assert status == 0
    assert metrics["run"]["files"][0]["delimiter"] == sep
    assert "signal" in metrics["run"]["features"]


def test_ragged_short_rows_padded(tmp_path):
    text = _csv(_rows()).splitlines()
    text[5] = ",".join(text[5].split(",")[:2])  # a row cut short after two fields
    status, metrics = _run(tmp_path, {"a.csv": "\n".join(text) + "\n"}, ["signal"])
    assert status == 0
    assert metrics["run"]["files"][0]["padded_rows"] == 1
    assert metrics["tasks"][0]["labelled_rows"] == N_ROWS


@pytest.mark.parametrize(
    "formatter",
    [
        lambda v: f'"{v:,.2f}"'.replace(",", "X").replace(".", ",").replace("X", "."),
        lambda v: f'"${v:,.2f}"',
        lambda v: f"€{v:.0f}",
        lambda v: f"({v:.2f})",
        lambda v: f"{v:.1f}%",
    ],
    ids=["decimal-comma", "dollar-thousands", "euro", "accounting-negative", "percent"],
)
def test_formatted_numbers_become_features(tmp_path, formatter):
    content = _csv(_rows(), formatters={"spend": formatter})
    status, metrics = _run(tmp_path, {"a.csv": content}, ["clicked", "spend"])
    assert status == 0
    spend = metrics["tasks"][1]
    assert spend["kind"] == "regression"
    assert spend["labelled_rows"] == N_ROWS


def test_percent_labels_stay_category(tmp_path):
    rows = _rows()
    rows["income"] = np.where(rows["signal"] > 0, ">50%", "<=50%")
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["income"])
    assert status == 0
    assert metrics["tasks"][0]["kind"] == "binary"
    assert set(metrics["tasks"][0]["classes"]) == {">50%", "<=50%"}


def test_bom_quoted_header(tmp_path):
    content = _csv(_rows()).replace("signal,", '"signal",', 1)
    status, metrics = _run(
        tmp_path, {"a.csv": b"\xef\xbb\xbf" + content.encode()}, ["signal"]
    )
    assert status == 0
    assert metrics["tasks"][0]["name"] == "signal"


def test_cp1252_text_decoded(tmp_path):
    rows = _rows()
    rows["region"] = np.where(rows["signal"] > 0, "Québec", "Año Nuevo")
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows).encode("cp1252")}, ["region"])
    assert status == 0
    assert set(metrics["tasks"][0]["classes"]) == {"Québec", "Año Nuevo"}
    assert metrics["run"]["files"][0]["encoding"] == "cp1252"


def test_binary_file_rejected(tmp_path, capsys):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
    status, _ = _run(tmp_path, {"logo.csv": png}, ["clicked"])
    assert status == 2
    assert "logo.csv" in capsys.readouterr().err


def test_quoted_line_breaks_one_row_each(tmp_path):
    rows = _rows()
    rows["note"] = [f'"line one\nline two {i}"' for i in range(N_ROWS)]
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["clicked"])
    assert status == 0
    assert metrics["run"]["n_rows"] == N_ROWS


def test_duplicate_column_names_kept(tmp_path):
    content = _csv(_rows()).replace("region,", "signal,", 1)
    status, metrics = _run(tmp_path, {"a.csv": content}, ["clicked"])
    assert status == 0
    assert {"signal", "signal (2)"} <= set(metrics["run"]["features"])


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"a,b,clicked\n", "no data rows")],
    ids=["empty", "header-only"],
)
def test_empty_and_header_only_rejected(tmp_path, capsys, content, message):
    status, _ = _run(tmp_path, {"blank.csv": content}, ["clicked"])
    err = capsys.readouterr().err
    assert status == 2
    assert "blank.csv" in err
    assert message in err.lower()
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    [lambda: "\n\n" + _csv(_rows()), lambda: _csv(_rows(), line_end="\r")],
    ids=["leading-blank-lines", "cr-only"],
)
def test_odd_layouts_load(tmp_path, content):
    status, metrics = _run(tmp_path, {"a.csv": content()}, ["clicked"])
    assert status == 0
    assert metrics["run"]["n_rows"] == N_ROWS


def test_mostly_numbers_with_words(tmp_path):
    rows = _rows()
    rows["spend"] = rows["spend"].astype(object)
    rows["spend"][[3, 7]] = "unknown"
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["spend"])
    assert status == 0
    assert metrics["tasks"][0]["kind"] == "regression"
    assert metrics["tasks"][0]["labelled_rows"] == N_ROWS - 2


def test_day_first_dates_become_features(tmp_path):
    rows = _rows()
    rows["joined"] = [
        f"{(i % 28) + 1:02d}/{(i % 12) + 1:02d}/2018" for i in range(N_ROWS)
    ]
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["clicked"])
    assert status == 0
    assert "joined" in metrics["run"]["features"]


def test_error_values_count_as_missing(tmp_path):
    rows = _rows()
    rows["spend"] = rows["spend"].astype(object)
    for i, token in enumerate(["inf", "-inf", "#DIV/0!", "NaN", "n/a", ""]):
        rows["spend"][i] = token
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["spend"])
    assert status == 0
    assert metrics["tasks"][0]["labelled_rows"] == N_ROWS - 6


def test_awkward_column_names_train(tmp_path):
    rows = _rows()
    rows = {
        'cost, [USD]: {net} "x"': rows["spend"],
        "Ad Group": rows["region"],
        "Ad_Group": rows["signal"],
        "clicked": rows["clicked"],
    }
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows, sep=";")}, ["clicked"])
    assert status == 0
    assert {"Ad Group", "Ad_Group"} <= set(metrics["run"]["features"])
    assert metrics["tasks"][0]["metrics"]["lightgbm"]["accuracy"] is not None


def test_free_text_excluded(tmp_path):
    rows = _rows()
    rows["comment"] = [
        f"customer {i} wrote a long comment about offer {i * 7}" for i in range(N_ROWS)
    ]
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["clicked"])
    assert status == 0
    assert "free text" in _excluded(metrics)["comment"]


def test_unusable_targets_skipped_others_train(tmp_path):
    rows = _rows()
    rows["same"] = ["x"] * N_ROWS
    rows["blank"] = [""] * N_ROWS
    status, metrics = _run(
        tmp_path, {"a.csv": _csv(rows)}, ["clicked", "same", "blank"]
    )
    assert status == 0
    skipped = {item["column"]: item["reason"] for item in metrics["skipped_tasks"]}
    assert "only one class" in skipped["same"]
    assert "no labelled rows" in skipped["blank"]
    assert [task["name"] for task in metrics["tasks"]] == ["clicked"]


def test_two_positives_train_with_reasons(tmp_path):
    rows = _rows()
    rows["bought"] = np.array(["no"] * N_ROWS, dtype=object)
    rows["bought"][[4, 60]] = "yes"
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["clicked", "bought"])
    assert status == 0
    bought = metrics["tasks"][1]
    assert bought["metrics"]["multitask"]["accuracy"] is not None
    if bought["metrics"]["multitask"]["roc_auc"] is None:
        assert bought["unavailable"]["multitask"]["roc_auc"]


def test_billions_regression_in_units(tmp_path):
    rows = _rows()
    rows["revenue"] = 3e9 + 1e9 * rows["signal"]
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["revenue"])
    assert status == 0
    rmse = metrics["tasks"][0]["metrics"]["multitask"]["rmse"]
    assert 1e7 < rmse < 1e10


def test_id_and_target_copy_excluded_by_name(tmp_path):
    rows = _rows()
    rows["customer_id"] = [f"C{i:05d}" for i in range(N_ROWS)]
    rows["clicked_flag"] = rows["clicked"]
    status, metrics = _run(tmp_path, {"a.csv": _csv(rows)}, ["clicked"])
    assert status == 0
    excluded = _excluded(metrics)
    assert "identifier" in excluded["customer_id"]
    assert "copies target 'clicked'" in excluded["clicked_flag"]


def test_files_with_different_columns_rejected(tmp_path, capsys):
    first = _csv(_rows())
    second = _csv({k: v for k, v in _rows().items() if k != "spend"})
    status, _ = _run(tmp_path, {"a.csv": first, "b.csv": second}, ["clicked"])
    err = capsys.readouterr().err
    assert status == 2
    assert "spend" in err
    assert "b.csv" in err


def test_same_columns_stacked(tmp_path):
    status, metrics = _run(
        tmp_path, {"a.csv": _csv(_rows()), "b.csv": _csv(_rows(seed=1))}, ["clicked"]
    )
    assert status == 0
    assert metrics["run"]["n_rows"] == 2 * N_ROWS
    assert "source_file" in _excluded(metrics)


def test_no_feature_left_rejected(tmp_path, capsys):
    rows = {"id": [f"r{i}" for i in range(N_ROWS)], "clicked": _rows()["clicked"]}
    status, _ = _run(tmp_path, {"a.csv": _csv(rows)}, ["clicked"])
    err = capsys.readouterr().err
    assert status == 2
    assert "no feature column is left" in err
    assert "'id'" in err
    # The loader's column of file names is not the user's, so it is not listed.
    assert "source_file" not in err
    # Nothing was excluded by the user, so excluding fewer cannot help.
    assert "exclude fewer" not in err


def test_user_exclusion_suggests_excluding_fewer(tmp_path, capsys):
    rows = {"visits": list(range(N_ROWS)), "clicked": _rows()["clicked"]}
    status, _ = _run(
        tmp_path, {"a.csv": _csv(rows)}, ["clicked"], "--exclude", "visits"
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "no feature column is left" in err
    assert "exclude fewer" in err


def test_ragged_extra_fields_not_features(tmp_path):
    text = _csv(_rows()).splitlines()
    text[5] += ",stray,value"
    status, metrics = _run(tmp_path, {"a.csv": "\n".join(text) + "\n"}, ["clicked"])
    assert status == 0
    assert "extra_1" in _excluded(metrics)
    assert "extra_2" in _excluded(metrics)


def test_output_path_that_is_a_file_rejected_first(tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    source = tmp_path / "a.csv"
    source.write_text(_csv(_rows()))
    status = main(["compare", str(source), "--target", "clicked", "--out", str(taken)])
    assert status == 2
    assert "is a file" in capsys.readouterr().err
    assert taken.read_text() == "keep me"


def test_duplicate_rows_never_cross_split(tmp_path):
    rows = _rows()
    content = _csv(rows)
    doubled = content + "\n".join(content.splitlines()[1:]) + "\n"
    status, metrics = _run(tmp_path, {"a.csv": doubled}, ["clicked"])
    assert status == 0
    assert metrics["run"]["n_rows"] == 2 * N_ROWS
    assert any("exact copies" in warning for warning in metrics["run"]["warnings"])


def test_one_duplicate_row_in_the_singular(tmp_path, caplog):
    content = _csv(_rows())
    once = content + content.splitlines()[1] + "\n"

    with caplog.at_level("WARNING", logger="mtl_core.split"):
        status, metrics = _run(tmp_path, {"a.csv": once}, ["clicked"])

    assert status == 0
    assert "1 row is an exact copy of another row" in caplog.text
    assert "1 rows" not in caplog.text
    warnings = metrics["run"]["warnings"]
    assert any("1 row is an exact copy of another row" in text for text in warnings)
