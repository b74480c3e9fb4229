"""Settings of one comparison run, validated on construction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mtl_core.errors import InputError
from mtl_core.tasks import TaskSpec


@dataclass(frozen=True)
class CompareConfig:
    """Settings of a comparison run.

    Attributes
    ----------
    targets : tuple of TaskSpec
        The tasks to predict.
    exclude : tuple of str
        Columns never used as features.
    seed : int
        Seed of the split, the networks, LightGBM and the bootstrap.
    max_epochs : int
        Epoch budget of every network, shared and single-task alike.
    patience : int
        Epochs without a better validation loss before early stopping.
    patience_rows : int or None
        Training rows the patience may span: a network whose epochs hold more
        waits fewer epochs, as many as hold this many rows, at least 2. None
        waits ``patience`` epochs whatever the table's size.

        NOTE: 200,000 was chosen on the synthetic benchmark table. No real
        dataset tried so far has the 40,000 training rows where it starts to
        act, so its effect on accuracy there is not measured.
    time_budget_s : float or None
        Wall-clock budget of each network in seconds; None trains up to max_epochs.
    batch_size : int or None
        Rows per optimiser step; None picks one from the number of training rows.
    hidden_sizes : tuple of int
        Widths of the shared trunk's layers; single-task networks use the same trunk.
    head_size : int
        Width of the hidden layer of each task head.
    dropout : float
        Dropout rate in the trunk.
    numeric_bins : int
        Quantile bins of the piecewise-linear encoding of each numeric input. With
        0 the networks get each number as its scaled value only.
    learning_rate : float
        AdamW learning rate.
    weight_decay : float
        AdamW weight decay of the networks' weight matrices; biases and category
        embeddings are not decayed.
    averaged_epochs : int
        Epochs tried, in order of validation loss, for averaging with the best
        epoch's weights; each stays in the average only if it lowers the
        validation loss. 0 keeps the best epoch's weights alone.
    test_fraction, val_fraction : float
        Shares of the rows held out for testing and for early stopping.
    n_bootstrap : int
        Bootstrap resamples of the test rows for the 95% intervals.
    lightgbm_rounds : int
        Maximum boosting rounds; early stopping on the validation rows picks fewer.
    price_per_hour : float
        Price of one compute hour, in the user's currency.
    upkeep_per_model_month : float
        Upkeep of one deployed model per month, in the same currency.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    threads : int or None
        CPU threads of torch and LightGBM. None leaves each library's default.
    """

    targets: tuple[TaskSpec, ...]
    exclude: tuple[str, ...] = ()
    seed: int = 0
    max_epochs: int = 30
    patience: int = 5
    patience_rows: int | None = 200_000
    time_budget_s: float | None = None
    batch_size: int | None = None
    hidden_sizes: tuple[int, ...] = (256, 128)
    head_size: int = 16
    dropout: float = 0.1
    numeric_bins: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 0.5
    averaged_epochs: int = 5
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    n_bootstrap: int = 1000
    lightgbm_rounds: int = 1000
    price_per_hour: float = 1.0
    upkeep_per_model_month: float = 0.0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        if not self.targets:
            raise InputError("no target given: name at least one column to predict")
        _check_range("max_epochs", self.max_epochs, 1, 10_000)
        _check_range("patience", self.patience, 1, 10_000)
        if self.patience_rows is not None:
            _check_range("patience_rows", self.patience_rows, 1, 10**12)
        _check_range("n_bootstrap", self.n_bootstrap, 0, 100_000)
        _check_range("lightgbm_rounds", self.lightgbm_rounds, 1, 100_000)
        _check_range("numeric_bins", self.numeric_bins, 0, 256)
        _check_range("averaged_epochs", self.averaged_epochs, 0, 10_000)
        if not 0 <= self.weight_decay < float("inf"):
            raise InputError(
                f"invalid weight_decay {self.weight_decay!r}: use a number of 0 or more"
            )
        if self.batch_size is not None:
            _check_range("batch_size", self.batch_size, 1, 1_000_000)
        if self.threads is not None:
            _check_range("threads", self.threads, 1, 1024)
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise InputError(
                f"invalid time budget {self.time_budget_s!r}: give a number of seconds above 0"
            )
        for name in ("test_fraction", "val_fraction"):
            value = getattr(self, name)
            if not 0.05 <= value <= 0.5:
                raise InputError(
                    f"invalid {name} {value!r}: use a share between 0.05 and 0.5"
                )
        for name in ("price_per_hour", "upkeep_per_model_month"):
            value = getattr(self, name)
            if not (value >= 0 and value < float("inf")):
                raise InputError(f"invalid {name} {value!r}: use a number of 0 or more")
        if self.device not in ("auto", "cpu", "cuda"):
            raise InputError(f"invalid device {self.device!r}: use auto, cpu or cuda")

    def settings(self) -> dict:
        """Return the settings that shape the results, for metrics.json."""
        values = dataclasses.asdict(self)
        values["targets"] = [spec.name for spec in self.targets]
        values["exclude"] = list(self.exclude)
        values["hidden_sizes"] = list(self.hidden_sizes)
        return values


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or not low <= value <= high:
        raise InputError(
            f"invalid {name} {value!r}: use a whole number from {low} to {high}"
        )
