"""Progress reporting across the stages of a run, with overall fraction and ETA."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mtl_core.errors import RunCancelled


@dataclass(frozen=True)
class ProgressEvent:
    """One progress update.

    Attributes
    ----------
    stage : str
        Machine name such as ``multitask``, ``single_task_nn:Churn`` or
        ``lightgbm:Churn``.
    stage_label : str
        The same for people, such as "Single-task network for Churn".
    stage_index, n_stages : int
        Position of the stage, from 1.
    epoch, max_epochs : int
        Epoch within a network stage (boosting round for LightGBM, 0 at a start).
    elapsed_s, eta_s : float
        Seconds since the run started, and the estimate of seconds left (None
        until there is a basis for it).
    fraction : float
        Estimated share of the whole run done, 0 to 1.
    val_metrics : dict
        Validation loss per task after the last epoch, where known.
    """

    stage: str
    stage_label: str
    stage_index: int
    n_stages: int
    epoch: int
    max_epochs: int
    elapsed_s: float
    eta_s: float | None
    fraction: float
    val_metrics: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], bool | None]


class ProgressTracker:
    """Turn stage-local progress into overall events; a False reply cancels."""

    def __init__(
        self, stages: list[tuple[str, str, float]], callback: ProgressCallback | None
    ):
        self.stages = stages
        self.callback = callback
        self.total_weight = sum(weight for _, _, weight in stages) or 1.0
        self.started = time.perf_counter()
        self.index = -1
        self.done_weight = 0.0

    def start(self, stage: str) -> None:
        """Move to the named stage, which must be the next one."""
        if self.index >= 0:
            self.done_weight += self.stages[self.index][2]
        self.index += 1
        if self.stages[self.index][0] != stage:
            raise ValueError(f"stage {stage!r} started out of order")
        self.update(0, 1)

    def update(self, step: int, n_steps: int, val_metrics: dict | None = None) -> bool:
        """Send an event for ``step`` of ``n_steps`` in the current stage."""
        name, label, weight = self.stages[self.index]
        share = min(1.0, step / max(n_steps, 1))
        fraction = min(1.0, (self.done_weight + weight * share) / self.total_weight)
        elapsed = time.perf_counter() - self.started
        eta = elapsed / fraction - elapsed if fraction > 0.02 else None
        event = ProgressEvent(
            stage=name,
            stage_label=label,
            stage_index=self.index + 1,
            n_stages=len(self.stages),
            epoch=step,
            max_epochs=n_steps,
            elapsed_s=elapsed,
            eta_s=eta,
            fraction=fraction,
            val_metrics=dict(val_metrics or {}),
        )
        if self.callback is not None and self.callback(event) is False:
            raise RunCancelled("the run was stopped before it finished")
        return True
