"""Peak memory of a whole comparison run, measured in a fresh subprocess.

Definition: ``(VmHWM during run_comparison - baseline) / frame bytes``, where VmHWM
is the kernel's peak resident set of the process, reset just before the run by
writing 5 to /proc/self/clear_refs, and frame bytes is
``frame.memory_usage(deep=True).sum()`` of the frame load_csvs returns. The loaded
frame itself stays resident during the run, so the figure includes it once.

The baseline is VmRSS after importing mtl_core, torch, lightgbm and pandas and
after one comparison on a small table (``WARM_UP_ROWS`` rows), before loading.
torch imports about 800 more modules (torch._dynamo and sympy, about 65 MB as
measured here) on a process's first optimiser step. A process pays that once
whatever the table's size, so the small run loads them before the baseline. The
baseline read straight after the imports is reported too (``cold_baseline``).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
WARM_UP_ROWS = 500


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _reset_peak() -> bool:
    """Reset VmHWM to the current resident set; False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


class _StagePeaks:
    """Sample VmRSS every few milliseconds and keep the peak of each run stage.

    The stage is the one named by the last progress event, or ``scoring`` once
    the test rows are scored and bootstrapped.
    """

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.stage = "preprocessing"
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def on_progress(self, event) -> None:
        self.stage = event.stage.split(":")[0]

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = _status_kib("VmRSS")
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), rss)
            time.sleep(self.interval_s)

    def __enter__(self) -> _StagePeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def _mark_scoring_stage(sampler: _StagePeaks) -> None:
    """Switch the sampler to ``scoring`` when compare.py starts scoring tasks.

    Scoring sends no progress event, so the probe wraps the private per-task
    scoring function; where it is renamed the scoring peak counts under LightGBM.
    """
    import mtl_core.compare as compare_module

    score_task = getattr(compare_module, "_score_task", None)
    if score_task is None:
        return

    def scored(*args, **kwargs):
        sampler.stage = "scoring"
        return score_task(*args, **kwargs)

    compare_module._score_task = scored


def _warm_up(n_tasks: int) -> None:
    """Run one small comparison so modules loaded on first use are in the baseline."""
    from benchmarks.synthetic import make_campaign_frame, task_names
    from mtl_core.compare import run_comparison
    from mtl_core.config import CompareConfig
    from mtl_core.tasks import TaskSpec

    frame = make_campaign_frame(WARM_UP_ROWS, n_tasks, seed=1)
    config = CompareConfig(
        targets=tuple(TaskSpec(name) for name in task_names(n_tasks)),
        max_epochs=1,
        lightgbm_rounds=5,
        n_bootstrap=20,
    )
    run_comparison(frame, config)


def probe(csv_path: str, n_tasks: int, max_epochs: int, lightgbm_rounds: int) -> dict:
    """Load the CSV and run one comparison in this process; return the readings."""
    import mtl_core.compare  # noqa: F401  (imports torch, lightgbm, sklearn)
    from mtl_core.compare import run_comparison
    from mtl_core.config import CompareConfig
    from mtl_core.loading import load_csvs
    from mtl_core.memory_release import release_free_memory
    from mtl_core.tasks import TaskSpec

    cold_baseline_kib = _status_kib("VmRSS")
    _warm_up(n_tasks)
    release_free_memory()
    baseline_kib = _status_kib("VmRSS")
    loaded = load_csvs([csv_path])
    frame = loaded.frame
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    loading_peak_kib = _status_kib("VmHWM")
    after_load_kib = _status_kib("VmRSS")
    reset = _reset_peak()
    config = CompareConfig(
        targets=tuple(TaskSpec(f"outcome_{i}") for i in range(n_tasks)),
        exclude=tuple(
            column
            for column in frame.columns
            if column.startswith("outcome_") and int(column.split("_")[1]) >= n_tasks
        ),
        max_epochs=max_epochs,
        lightgbm_rounds=lightgbm_rounds,
    )
    with _StagePeaks() as sampler:
        _mark_scoring_stage(sampler)
        run_comparison(frame, config, progress=sampler.on_progress)
        time.sleep(2 * sampler.interval_s)
    return {
        "stage_peaks_kib": sampler.peaks,
        "baseline_kib": baseline_kib,
        "cold_baseline_kib": cold_baseline_kib,
        "after_load_kib": after_load_kib,
        "loading_peak_kib": loading_peak_kib,
        "run_peak_kib": _status_kib("VmHWM"),
        "peak_reset": reset,
        "frame_bytes": frame_bytes,
        "n_rows": len(frame),
    }


@dataclass
class MemoryUse:
    """Readings of one probe run, in bytes."""

    n_rows: int
    n_tasks: int
    max_epochs: int
    lightgbm_rounds: int
    baseline: int
    cold_baseline: int
    after_load: int
    loading_peak: int
    run_peak: int
    frame_bytes: int
    peak_reset: bool
    stage_peaks: dict[str, int] = field(default_factory=dict)  # KiB per stage

    @property
    def ratio(self) -> float:
        return (self.run_peak - self.baseline) / self.frame_bytes

    @property
    def cold_ratio(self) -> float:
        """The ratio with the baseline read before the small warm-up run."""
        return (self.run_peak - self.cold_baseline) / self.frame_bytes

    @property
    def loading_ratio(self) -> float:
        return (self.loading_peak - self.baseline) / self.frame_bytes


def measure(
    csv_path: Path, n_tasks: int, max_epochs: int, lightgbm_rounds: int, threads: int
) -> MemoryUse:
    """Run `probe` in a fresh interpreter so earlier sections leave no memory behind."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        str(csv_path),
        str(n_tasks),
        str(max_epochs),
        str(lightgbm_rounds),
    ]
    environment = {"OMP_NUM_THREADS": str(threads)}
    completed = subprocess.run(
        command,
        cwd=REPO,
        env={**_inherited_environment(), **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"memory probe failed with exit code {completed.returncode}: "
            f"{completed.stderr.strip()[-2000:]}"
        )
    readings = json.loads(completed.stdout.strip().splitlines()[-1])
    return MemoryUse(
        n_rows=readings["n_rows"],
        n_tasks=n_tasks,
        max_epochs=max_epochs,
        lightgbm_rounds=lightgbm_rounds,
        baseline=readings["baseline_kib"] * 1024,
        cold_baseline=readings["cold_baseline_kib"] * 1024,
        after_load=readings["after_load_kib"] * 1024,
        loading_peak=readings["loading_peak_kib"] * 1024,
        run_peak=readings["run_peak_kib"] * 1024,
        frame_bytes=readings["frame_bytes"],
        peak_reset=readings["peak_reset"],
        stage_peaks=readings["stage_peaks_kib"],
    )


def _inherited_environment() -> dict[str, str]:
    import os

    return dict(os.environ)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    path, tasks, epochs, rounds = sys.argv[1:5]
    print(json.dumps(probe(path, int(tasks), int(epochs), int(rounds))))
