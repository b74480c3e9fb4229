"""A comparison run in a background thread, so the page stays responsive.

Streamlit reruns the page script for every click. A run inside the script would
block it, and a Stop click would interrupt the script at an arbitrary point. Here
the run lives in a thread and the page only reads its progress. Stop sets an
event that the progress callback checks, so `run_comparison` raises RunCancelled
at its next epoch or boosting round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mtl_core.compare import run_comparison
from mtl_core.config import CompareConfig
from mtl_core.errors import InputError, MtlError, RunCancelled
from mtl_core.progress import ProgressEvent

logger = logging.getLogger(__name__)

PAGE_GRACE_S = 10.0  # seconds a page may be gone before its run stops
RUNNING = "running"
DONE = "done"
CANCELLED = "cancelled"
FAILED = "failed"


@dataclass
class StageLine:
    """Progress of one stage as the page shows it."""

    stage: str
    label: str
    started_s: float
    finished_s: float | None = None
    step: int = 0
    n_steps: int = 0


@dataclass
class JobSnapshot:
    """A consistent copy of a job's state, taken under its lock."""

    status: str
    cancel_requested: bool
    queued: bool  # waiting for another session's run to end
    latest: ProgressEvent | None
    stages: list[StageLine]
    elapsed_s: float
    metrics: dict | None
    error: str | None


@dataclass
class TrainingJob:
    """One run of `run_comparison` on a background thread.

    Attributes
    ----------
    run_key : str
        Hash of the data, targets and settings of this run.
    description : dict
        What the page needs to label the results (file names, targets).
    """

    run_key: str
    description: dict[str, Any]
    # Returns whether the page that started the run is still open. None counts the
    # page as always open.
    page_open: Callable[[], bool] | None = None
    status: str = RUNNING
    metrics: dict | None = None
    error: str | None = None
    _latest: ProgressEvent | None = None
    _queued: bool = False
    _stages: list[StageLine] = field(default_factory=list)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _started: float = field(default_factory=time.perf_counter)
    _closed_since: float | None = None

    def start(
        self,
        frame: pd.DataFrame,
        config: CompareConfig,
        file_info: list[dict],
        load_notes: list[str],
    ) -> None:
        """Start the run on a daemon thread and return at once."""
        self._thread = threading.Thread(
            target=self._run,
            args=(frame, config, file_info, load_notes),
            name=f"comparison-{self.run_key[:8]}",
            daemon=True,
        )
        logger.info("Starting comparison run %s", self.run_key[:8])
        self._thread.start()

    def cancel(self) -> None:
        """Ask the run to stop at its next epoch or boosting round."""
        logger.info("Stop requested for comparison run %s", self.run_key[:8])
        self._cancel.set()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the thread to end, at most `timeout_s` seconds."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def snapshot(self) -> JobSnapshot:
        """Return a copy of the state that the thread cannot change under the page."""
        with self._lock:
            return JobSnapshot(
                status=self.status,
                cancel_requested=self._cancel.is_set(),
                queued=self._queued and self._latest is None,
                latest=self._latest,
                stages=[StageLine(**vars(line)) for line in self._stages],
                elapsed_s=time.perf_counter() - self._started,
                metrics=self.metrics,
                error=self.error,
            )

    def _on_queued(self) -> None:
        logger.info("Comparison run %s waits for another run to end", self.run_key[:8])
        with self._lock:
            self._queued = True

    def _on_progress(self, event: ProgressEvent) -> bool:
        if self._page_gone():
            logger.info(
                "Comparison run %s stopped: its page was closed or reloaded",
                self.run_key[:8],
            )
            self._cancel.set()
        with self._lock:
            self._latest = event
            if not self._stages or self._stages[-1].stage != event.stage:
                if self._stages:
                    self._stages[-1].finished_s = event.elapsed_s
                self._stages.append(
                    StageLine(event.stage, event.stage_label, event.elapsed_s)
                )
            line = self._stages[-1]
            line.step, line.n_steps = event.epoch, event.max_epochs
        return not self._cancel.is_set()

    def _page_gone(self) -> bool:
        """Tell whether the page has been closed for PAGE_GRACE_S seconds.

        A reloaded or closed tab ends its session, and a new session cannot show
        this run's results, so the run would only hold up the runs queued after
        it. The grace period lets a page that reconnects keep its run.
        """
        if self.page_open is None or self.page_open():
            self._closed_since = None
            return False
        now = time.perf_counter()
        if self._closed_since is None:
            self._closed_since = now
        return now - self._closed_since >= PAGE_GRACE_S

    def _finish(
        self, status: str, metrics: dict | None = None, error: str | None = None
    ):
        with self._lock:
            if self._stages and self._stages[-1].finished_s is None:
                self._stages[-1].finished_s = time.perf_counter() - self._started
            self.status, self.metrics, self.error = status, metrics, error

    def _run(self, frame, config, file_info, load_notes) -> None:
        try:
            result = run_comparison(
                frame,
                config,
                progress=self._on_progress,
                file_info=file_info,
                on_queued=self._on_queued,
            )
        except RunCancelled:
            if self._closed_since is None:
                logger.info("Comparison run %s stopped by the user", self.run_key[:8])
            self._finish(CANCELLED)
            return
        except InputError as err:
            logger.warning(
                "Comparison run %s rejected its input: %s", self.run_key[:8], err
            )
            self._finish(FAILED, error=str(err))
            return
        except MtlError as err:
            logger.error("Comparison run %s failed: %s", self.run_key[:8], err)
            self._finish(FAILED, error=str(err))
            return
        except Exception as err:  # the page must show every failure, not a dead bar
            logger.exception("Comparison run %s failed", self.run_key[:8])
            self._finish(FAILED, error=f"{type(err).__name__}: {err}")
            return

        if self._cancel.is_set():
            # Stop came after the last progress event (during scoring), so the run
            # finished anyway. Its results are dropped, as the Stop button promises.
            logger.info(
                "Comparison run %s finished after Stop; results dropped",
                self.run_key[:8],
            )
            self._finish(CANCELLED)
            return
        metrics = result.metrics
        metrics["run"]["load_notes"] = list(load_notes)
        logger.info("Comparison run %s finished", self.run_key[:8])
        self._finish(DONE, metrics=metrics)
