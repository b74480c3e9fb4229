"""The benchmark's quick mode runs end to end and prints every section's figures."""

import re
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
    clicks = [line for line in lines if line.startswith("fb_ad_conversion  Clicks>0")]
    assert len(clicks) == 1
    # The quick mode runs two splits: the row lists two signed differences and
    # their median.
    assert len(re.findall(r"(?<![\[\d.,])[+-]\d\.\d{3}(?![\]\d,])", clicks[0])) == 3
    assert any(line.startswith("note: Split by split (seeds 0, 1)") for line in lines)
    assert "finished in" in lines[-1]


def test_quick_benchmark_writes_nothing(quick_run):
    assert "wrote " not in quick_run.stdout


def _task(dataset, name, shared, boosted, metric="roc_auc"):
    from benchmarks.accuracy import TaskResult

    return TaskResult(
        dataset=dataset,
        task=name,
        kind="binary" if metric == "roc_auc" else "multiclass",
        metric=metric,
        values={"multitask": shared, "lightgbm": boosted},
        intervals={},
        difference_vs_lightgbm={},
        epochs={},
        labelled_test_rows=100,
    )


def test_split_median_judges_each_task():
    from benchmarks.accuracy import (
        DATASETS,
        DatasetResult,
        median_within_tolerance,
        split_differences,
    )

    dataset = DATASETS[0]
    splits = [
        (0.70, 0.71, 0.80, 0.80),
        (0.80, 0.80, 0.79, 0.80),
        (0.80, 0.80, 0.80, 0.70),
    ]
    runs = []
    for steady, steady_lgb, erratic, erratic_lgb in splits:
        tasks = [
            _task(dataset.name, "steady", steady, steady_lgb),
            _task(dataset.name, "erratic", erratic, erratic_lgb),
            _task(dataset.name, "segment", 0.5, 0.9, metric="macro_f1"),
        ]
        runs.append(DatasetResult(dataset, 1.0, 100, tasks))
    differences = split_differences(runs)
    assert set(differences) == {(dataset.name, "steady"), (dataset.name, "erratic")}
    assert differences[(dataset.name, "erratic")] == pytest.approx([0.0, -0.01, 0.1])
    # steady: -0.01, 0, 0 has median 0; erratic: 0, -0.01, +0.1 has median 0.
    assert median_within_tolerance(differences) == (2, 2)
    differences[(dataset.name, "steady")] = [-0.006, -0.006, 0.2]
    assert median_within_tolerance(differences) == (1, 2)


def test_throughput_bound_counts_validation_pass(monkeypatch):
    """The epoch's time includes scoring the validation rows, so the bound counts
    that pass's forward products as well as the training steps'."""
    from benchmarks import training_speed
    from benchmarks.training_speed import FitTiming, MatmulRate, SharedVsSeparate

    def one_gflop_per_second(shapes, repeats=5):
        flops = sum(2.0 * m * k * n for m, k, n in shapes)
        return MatmulRate(flops / 1e9, flops)

    monkeypatch.setattr(training_speed, "measure_matmul", one_gflop_per_second)
    data = training_speed.prepare(2_000, 2, threads=1)
    batch = 64
    timings = SharedVsSeparate(
        n_rows=data.n_rows,
        n_tasks=2,
        epochs=1,
        batch_size=batch,
        n_train=data.n_train,
        shared=[FitTiming(2.0, [2.0])],
        singles=[[FitTiming(2.0, [2.0]), FitTiming(2.0, [2.0])]],
    )
    use = training_speed.hardware_use(data, timings)

    net = training_speed.new_net(data, 2)
    step = sum(2.0 * m * k * n for m, k, n in training_speed.step_matmul_shapes(net, 1))
    forward = sum(
        2.0 * m * k * n for m, k, n in training_speed.forward_matmul_shapes(net, 1)
    )
    n_val = len(data.val)
    assert 0 < n_val < data.n_train
    epoch_flops = data.n_train * step + n_val * forward
    assert use.validation_rows == n_val
    assert use.flops_per_row == pytest.approx(epoch_flops / data.n_train)
    assert use.allowed_rows_per_second == pytest.approx(
        data.n_train / (epoch_flops / 1e9)
    )
    assert use.rows_per_second == pytest.approx(data.n_train / 2.0)
    assert use.ratio == pytest.approx(epoch_flops / 1e9 / 2.0)
