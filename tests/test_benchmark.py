"""The benchmark's quick mode runs end to end and prints every section's figures."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTION_TITLES = (
    "== 1. Shared network vs T single-task networks",
    "== 2. Shared network vs T LightGBM models",
    "== 3. Shared network throughput vs the matmul speed",
    "== 4. Loading: load_csvs vs pyarrow.csv.read_csv",
    "== 5. Memory: peak of a whole comparison",
    "== 6. Dashboard: rerun after a price change",
    "== 7. Accuracy on real data",
)


@pytest.fixture(scope="module")
def quick_run():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--threads", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed


def test_quick_benchmark_exits_zero(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr[-3000:]


@pytest.mark.parametrize(
    "title", SECTION_TITLES, ids=lambda title: title[3:5].strip(".")
)
def test_quick_benchmark_prints_section(quick_run, title):
    assert title in quick_run.stdout


def test_quick_benchmark_prints_figures(quick_run):
    lines = quick_run.stdout.splitlines()
    assert any(line.startswith("10k   2") for line in lines), "no shared/separate row"
    assert any(line.startswith("rerun after price change") for line in lines)
    assert any(line.startswith("fb_ad_conversion  Clicks>0") for line in lines)
    assert "finished in" in lines[-1]


def test_quick_benchmark_writes_nothing(quick_run):
    assert "wrote " not in quick_run.stdout
