import json
import logging
import re
import subprocess
import sys

import pytest
from helpers_data import REPO, related_tasks_frame

from mtl_core import cli
from mtl_core.cli import main


def _write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


def _run_cli(*args):
    """Run the CLI in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "mtl_core", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    return _write_csv(
        tmp_path_factory.mktemp("data") / "campaign.csv", related_tasks_frame(400)
    )


def test_cli_success_writes_outputs(small_csv, tmp_path):
    out = tmp_path / "out"
    done = _run_cli(
        "compare",
        small_csv,
        "--target",
        "clicked",
        "--target",
        "revenue",
        "--out",
        out,
        "--epochs",
        "2",
        "--bootstrap",
        "50",
        "--numeric-bins",
        "4",
        "--threads",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert (out / "metrics.json").is_file()
    assert (out / "metrics.csv").is_file()
    assert (out / "report.html").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert [task["name"] for task in metrics["tasks"]] == ["clicked", "revenue"]
    assert metrics["run"]["settings"]["numeric_bins"] == 4
    assert metrics["run"]["settings"]["threads"] == 1
    assert "Shared multitask model" in done.stderr  # progress goes to stderr
    assert "  epoch 2/2, " in done.stderr
    estimates = re.findall(r", ([a-z ]+) \d+ s left", done.stderr)
    assert estimates
    assert set(estimates) == {"up to about"}
    summary = done.stdout.splitlines()
    assert summary[0].startswith("Of 4 comparisons, the shared model was better in ")
    assert summary[1].startswith("- On clicked, ")
    assert "- Cost reduction: Shared model: cost per run " in done.stdout
    assert "(negative means the shared model took longer)" in done.stdout
    assert "Shared multitask model" not in done.stdout


def test_cli_quiets_chart_export_logs(tmp_path):
    args = ["compare", str(tmp_path / "absent.csv"), "--target", "y"]
    assert main([*args, "--out", str(tmp_path)]) == 2

    for name in ("kaleido", "choreographer", "fontTools"):
        assert logging.getLogger(name).level == logging.WARNING, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "error: target column 'nope' not found: choose one of"),
        (["--target", "clicked:ordinal"], "error: invalid task kind 'ordinal'"),
        (["--target", "colour>1"], "but that column is not numeric"),
        (
            ["--target", "clicked", "--exclude", "ghost"],
            "error: excluded column 'ghost' not found",
        ),
        (
            ["--target", "clicked", "--epochs", "0"],
            "error: invalid --epochs 0: use a whole number from 1",
        ),
        (
            ["--target", "clicked", "--numeric-bins", "-1"],
            "error: invalid --numeric-bins -1",
        ),
        (["--target", "clicked", "--threads", "0"], "error: invalid --threads 0"),
        (
            ["--target", "clicked", "--price-per-hour", "-1"],
            "error: invalid --price-per-hour -1.0",
        ),
        (
            ["--target", "clicked", "--epochs", "many"],
            "error: argument --epochs: invalid int value",
        ),
    ],
    ids=[
        "unknown-target",
        "bad-kind",
        "derived-on-text",
        "unknown-exclude",
        "zero-epochs",
        "negative-bins",
        "zero-threads",
        "negative-price",
        "non-number",
    ],
)
def test_cli_invalid_input_exit_2(small_csv, tmp_path, capsys, args, message):
    assert (
        _status(["compare", str(small_csv), "--out", str(tmp_path / "o"), *args]) == 2
    )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert message in lines[0]
    assert "Traceback" not in err


def _status(argv):
    """Exit status of the CLI run in this process, argparse's exits included."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def test_cli_missing_file_exit_2(tmp_path):
    done = _run_cli(
        "compare", tmp_path / "absent.csv", "--target", "y", "--out", tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: file ")
    assert "not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_empty_file_exit_2(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    done = _run_cli("compare", empty, "--target", "y", "--out", tmp_path / "o")
    assert done.returncode == 2
    assert "empty.csv" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_no_target_exit_2(small_csv, tmp_path):
    done = _run_cli("compare", small_csv, "--out", tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "--target" in done.stderr


def test_cli_same_seed_same_metrics(small_csv, tmp_path):
    results = []
    for name in ("first", "second"):
        status = main(
            [
                "compare",
                str(small_csv),
                "--target",
                "clicked",
                "--target",
                "segment",
                "--out",
                str(tmp_path / name),
                "--epochs",
                "2",
                "--bootstrap",
                "50",
                "--seed",
                "3",
            ]
        )
        assert status == 0
        results.append(json.loads((tmp_path / name / "metrics.json").read_text()))
    assert results[0]["tasks"] == results[1]["tasks"]
    first_csv = (tmp_path / "first" / "metrics.csv").read_text()
    assert first_csv == (tmp_path / "second" / "metrics.csv").read_text()


def test_cli_folder_instead_of_file_exit_2(tmp_path, capsys):
    assert (
        _status(
            ["compare", str(tmp_path), "--target", "y", "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert "is a folder, not a file" in capsys.readouterr().err


def test_cli_interrupt_one_line_exit_130(monkeypatch, capsys, small_csv, tmp_path):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_compare", interrupted)

    status = main(
        ["compare", str(small_csv), "--target", "clicked", "--out", str(tmp_path)]
    )

    assert status == 130
    assert capsys.readouterr().err == (
        "error: stopped by the user before the run finished\n"
    )


def test_summary_lists_run_warnings():
    from tests.fixtures_metrics import make_metrics

    metrics = make_metrics()
    metrics["run"]["warnings"] = ["only one target ('clicked') can be trained"]

    lines = cli.results_summary(metrics).splitlines()

    heading = lines.index("Warnings:")
    assert lines[heading + 1] == "- only one target ('clicked') can be trained"
    assert lines[heading + 2] == "Targets not trained:"


def test_summary_names_skipped_targets():
    from tests.fixtures_metrics import make_metrics

    metrics = make_metrics()
    reason = "target 'duration' has 875 classes, not 2: choose the kind multiclass"
    metrics["skipped_tasks"] = [{"column": "duration", "reason": reason}]

    lines = cli.results_summary(metrics).splitlines()

    heading = lines.index("Targets not trained:")
    assert lines[heading + 1] == f"- duration: {reason}"
    assert lines[heading + 2].startswith("Savings")


def test_summary_units_in_square_brackets():
    from tests.fixtures_metrics import make_metrics

    lines = cli.results_summary(make_metrics()).splitlines()

    saved = next(line for line in lines if line.startswith("- Training time saved"))
    assert saved.endswith(
        "[units: seconds per training run "
        "(negative means the shared model took longer)]"
    )
