"""Train a SharedTrunkNet with masked per-task losses and early stopping."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from mtl_core.dropout import seeds_in_bulk
from mtl_core.errors import MtlError, RunCancelled
from mtl_core.network import SharedTrunkNet
from mtl_core.optimiser import FusedAdamW
from mtl_core.tasks import Task

logger = logging.getLogger(__name__)

EVAL_BATCH = 4096  # rows per forward pass when evaluating and predicting
_BATCHES_PER_GATHER = 32
_MIN_SHARE = 1e-4  # label shares are clipped to [1e-4, 1 - 1e-4] for the log-odds


@dataclass
class NetInputs:
    """Tensors of one set of rows: features and labels (NaN where missing)."""

    numeric: torch.Tensor
    categorical: torch.Tensor
    labels: torch.Tensor  # shape (n_rows, n_tasks)
    weighted: WeightedLabels | None = None  # set on training batches

    def __len__(self) -> int:
        return self.numeric.shape[0]


@dataclass
class WeightedLabels:
    """Labels with 0 where missing, and each row's weight in its task's mean loss.

    Both have shape ``(n_rows, n_tasks)``. A weight is 1 / (labelled rows of its
    task in its batch), or 0 where the label is missing.
    """

    filled: torch.Tensor
    weights: torch.Tensor

    def __getitem__(self, rows: slice) -> WeightedLabels:
        return WeightedLabels(self.filled[rows], self.weights[rows])


def weighted_labels(
    labels: torch.Tensor, batch_size: int | None = None
) -> WeightedLabels:
    """Return ``labels`` filled and weighted for consecutive batches of ``batch_size``.

    None weighs all rows as one batch. Training weighs each gathered chunk of
    batches at once: per batch, the same operations took 45 to 90 us of a
    128-row step (2-core AMD EPYC, torch 2.13).
    """
    labelled = ~torch.isnan(labels)
    filled = torch.nan_to_num(labels, nan=0.0)
    n_rows = labels.shape[0]
    if batch_size is None or batch_size >= n_rows:
        return WeightedLabels(filled, labelled / labelled.sum(dim=0).clamp_(min=1))
    weights = torch.empty(labels.shape, device=labels.device)
    full = n_rows - n_rows % batch_size
    batches = labelled[:full].view(-1, batch_size, labels.shape[1])
    counts = batches.sum(dim=1, keepdim=True).clamp_(min=1)
    torch.div(batches, counts, out=weights[:full].view_as(batches))
    if full < n_rows:
        rest = labelled[full:]
        torch.div(rest, rest.sum(dim=0).clamp_(min=1), out=weights[full:])
    return WeightedLabels(filled, weights)


@dataclass(frozen=True)
class EpochReport:
    """Summary of one epoch, passed to the progress callback."""

    epoch: int
    max_epochs: int
    elapsed_s: float
    train_loss: float
    val_loss: float
    val_loss_per_task: dict[str, float]


@dataclass
class FitResult:
    seconds: float
    epochs_run: int
    best_epoch: int
    curve: dict[str, list[float]] = field(default_factory=dict)
    stop_reason: str = ""
    averaged_epochs: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class TrainSettings:
    max_epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    seed: int
    time_budget_s: float | None = None
    weight_decay: float = 0.01
    averaged_epochs: int = 0
    patience_rows: int | None = None

    def patience_for(self, n_rows: int) -> int:
        """Return the epochs without a better validation loss before stopping.

        ``patience`` epochs, or fewer when they would hold more than
        ``patience_rows`` training rows: as many epochs as hold that many, at
        least 2. On a large table one epoch takes long, so waiting the full
        patience for a better validation loss costs minutes.
        """
        if self.patience_rows is None or n_rows <= 0:
            return self.patience
        epochs = max(2, math.ceil(self.patience_rows / n_rows))
        return min(self.patience, epochs)


def resolve_device(name: str) -> torch.device:
    """Resolve ``auto`` to CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def auto_batch_size(n_train: int) -> int:
    """Pick a power of two near n_train / 64, between 64 and 2048 rows."""
    target = max(64, min(2048, n_train // 64))
    return 2 ** int(round(math.log2(target)))


class TaskLosses(nn.Module):
    """Sum of per-task mean losses over the labelled (row, task) pairs only.

    Outputs come as one tensor with every task's columns side by side, in task
    order, as ``SharedTrunkNet.joined_outputs`` returns them. Regression labels
    must already be standardised, and a task with no labelled row in a batch adds
    nothing.
    """

    def __init__(self, tasks: list[Task]) -> None:
        super().__init__()
        self.kinds = [task.kind for task in tasks]
        self._binary = [i for i, kind in enumerate(self.kinds) if kind == "binary"]
        self._regression = [
            i for i, kind in enumerate(self.kinds) if kind == "regression"
        ]
        self._multiclass = [
            i for i, kind in enumerate(self.kinds) if kind == "multiclass"
        ]
        ends = np.cumsum([task.n_outputs for task in tasks])
        self._outputs = [
            slice(int(end - task.n_outputs), int(end))
            for end, task in zip(ends, tasks, strict=True)
        ]
        # Losses are computed kind by kind, and this index restores task order.
        order = [*self._binary, *self._regression, *self._multiclass]
        self._task_order = torch.argsort(torch.tensor(order))

    def per_task_tensor(
        self,
        outputs: torch.Tensor,
        labels: torch.Tensor,
        weighted: WeightedLabels | None = None,
    ) -> torch.Tensor:
        """Return each task's mean loss over its labelled rows, shape ``(n_tasks,)``.

        Tasks of one kind are scored in one call: every row's loss is weighted by
        1 / (labelled rows of its task), and missing labels by 0. ``weighted``
        contains those weights when they were made beforehand.
        """
        if weighted is None:
            weighted = weighted_labels(labels)
        filled, weights = weighted.filled, weighted.weights
        parts: list[torch.Tensor] = []
        for indices, loss in (
            (self._binary, _binary_loss),
            (self._regression, _squared_error),
        ):
            if not indices:
                continue
            own = _columns([self._outputs[i].start for i in indices])
            columns = _columns(indices)
            # Contiguous, so that the sums below add in the same order whatever
            # other kinds of task sit between these columns.
            elementwise = loss(outputs[:, own].contiguous(), filled[:, columns])
            parts.append((elementwise * weights[:, columns]).sum(dim=0))
        for i in self._multiclass:
            elementwise = functional.cross_entropy(
                outputs[:, self._outputs[i]], filled[:, i].long(), reduction="none"
            )
            parts.append((elementwise * weights[:, i]).sum().reshape(1))
        if len(parts) == 1:
            return parts[0]
        return torch.cat(parts)[self._task_order]

    def per_task(
        self, outputs: torch.Tensor, labels: torch.Tensor
    ) -> list[torch.Tensor]:
        """Return each task's mean loss over its labelled rows, as a list."""
        return list(self.per_task_tensor(outputs, labels).unbind())

    def forward(
        self,
        outputs: torch.Tensor,
        labels: torch.Tensor,
        weighted: WeightedLabels | None = None,
    ) -> torch.Tensor:
        return self.per_task_tensor(outputs, labels, weighted).sum()


def start_at_label_shares(
    net: SharedTrunkNet, tasks: list[Task], labels: torch.Tensor
) -> None:
    """Set each classification head's output biases to its task's label shares.

    A binary head starts at the log-odds of its positive share and a multiclass
    head at the log of each class's share, with one row added to every class so
    that an absent class gets a finite bias. A new head's predictions then centre
    on the label shares from the first step instead of on even odds. ``labels``
    has one column per task, NaN where missing. Regression heads keep their biases,
    because their labels are standardised.
    """
    for index, task in enumerate(tasks):
        column = labels[:, index]
        known = column[~torch.isnan(column)]
        if task.kind == "regression" or known.numel() == 0:
            continue
        n_classes = 2 if task.kind == "binary" else task.n_outputs
        counts = torch.bincount(known.long(), minlength=n_classes).double()
        if task.kind == "binary":
            share = float(counts[1] / counts.sum())
            share = min(max(share, _MIN_SHARE), 1.0 - _MIN_SHARE)
            values = torch.tensor([math.log(share / (1.0 - share))])
        else:
            log_shares = torch.log((counts + 1.0) / (counts.sum() + counts.numel()))
            values = log_shares - log_shares.mean()
        net.heads.set_output_bias(index, values.float())


def _columns(indices: list[int]) -> slice | list[int]:
    """Return ``indices`` as a slice where they are consecutive.

    Indexing with a slice gives a view, where a list copies the columns.
    """
    if indices == list(range(indices[0], indices[-1] + 1)):
        return slice(indices[0], indices[-1] + 1)
    return indices


def _binary_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return functional.binary_cross_entropy_with_logits(
        logits, targets, reduction="none"
    )


def _squared_error(values: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return (values - targets).square()


def _evaluate(net, loss_fn, data: NetInputs, device) -> list[float]:
    """Mean loss per task over all labelled rows of ``data``."""
    net.eval()
    totals = np.zeros(len(loss_fn.kinds))
    counts = np.zeros(len(loss_fn.kinds))
    with torch.no_grad():
        for start in range(0, len(data), EVAL_BATCH):
            part = slice(start, start + EVAL_BATCH)
            labels = data.labels[part].to(device)
            outputs = net.joined_outputs(
                data.numeric[part].to(device), data.categorical[part].to(device)
            )
            n_labelled = (~torch.isnan(labels)).sum(dim=0).cpu().numpy()
            losses = loss_fn.per_task(outputs, labels)
            totals += np.array([float(loss) for loss in losses]) * n_labelled
            counts += n_labelled
    return list(np.where(counts > 0, totals / np.maximum(counts, 1), 0.0))


def _new_optimiser(net: nn.Module, settings: TrainSettings, device: torch.device):
    """Create AdamW, with the fused kernel where this torch build has one.

    Weight decay applies to the weight matrices only. Biases and the category
    embeddings (one flat vector) are not decayed: 0 is no simpler value for a
    bias, and decay would shrink what each category's embedding has learned.

    The fused kernel updates every parameter tensor in one call. The default
    implementation runs several small operations per tensor.
    """
    groups = parameter_groups(net)
    options = {"lr": settings.learning_rate, "weight_decay": settings.weight_decay}
    try:
        return FusedAdamW(groups, **options)
    except RuntimeError as error:
        logger.debug(
            "fused AdamW unavailable on %s (%s); using the default", device, error
        )
        # New groups, because the failed call may have written options into them.
        return torch.optim.AdamW(parameter_groups(net), **options)


def parameter_groups(net: nn.Module) -> list[dict]:
    """Return AdamW's groups: the weight matrices, then the vectors without decay."""
    parameters = list(net.parameters())
    groups = [
        {"params": [p for p in parameters if p.ndim >= 2]},
        {"params": [p for p in parameters if p.ndim < 2], "weight_decay": 0.0},
    ]
    return [group for group in groups if group["params"]]


def _shuffled_batches(
    data: NetInputs, order: torch.Tensor, batch_size: int, device: torch.device
) -> Iterator[NetInputs]:
    """Yield batches of ``data`` in ``order``, each a contiguous slice.

    Rows are gathered ``_BATCHES_PER_GATHER`` batches at a time, so one large copy
    replaces three small random gathers per batch. Every gather writes into the
    same three buffers: a new buffer per gather left the heap growing by a few MB
    per gather at 1M rows. A yielded batch is overwritten once the next one is
    requested.
    """
    chunk = max(1, min(batch_size * _BATCHES_PER_GATHER, len(order)))
    buffers = [
        torch.empty((chunk, *tensor.shape[1:]), dtype=tensor.dtype)
        for tensor in (data.numeric, data.categorical, data.labels)
    ]
    for chunk_start in range(0, len(order), chunk):
        rows = order[chunk_start : chunk_start + chunk]
        numeric, categorical, labels = (
            torch.index_select(tensor, 0, rows, out=buffer[: len(rows)]).to(device)
            for tensor, buffer in zip(
                (data.numeric, data.categorical, data.labels), buffers, strict=True
            )
        )
        weighted = weighted_labels(labels, batch_size)
        for start in range(0, len(rows), batch_size):
            part = slice(start, start + batch_size)
            yield NetInputs(
                numeric[part], categorical[part], labels[part], weighted[part]
            )


def fit_network(
    net: SharedTrunkNet,
    tasks: list[Task],
    train: NetInputs,
    val: NetInputs,
    settings: TrainSettings,
    device: torch.device,
    on_epoch: Callable[[EpochReport], bool | None] | None = None,
    train_rows: torch.Tensor | None = None,
) -> FitResult:
    """Train ``net`` in place and leave the weights of its best validation epoch.

    With ``settings.averaged_epochs`` the result is instead the average of the best
    epoch's weights and those of other epochs, see ``_average_epochs``.

    ``on_epoch`` is called after every epoch; returning False raises RunCancelled.
    ``train_rows`` holds the positions of the rows of ``train`` to train on, so a
    subset needs no copy of the features; None trains on every row.
    """
    with seeds_in_bulk(net):
        return _fit(net, tasks, train, val, settings, device, on_epoch, train_rows)


def _fit(net, tasks, train, val, settings, device, on_epoch, train_rows) -> FitResult:
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    net.to(device)
    loss_fn = TaskLosses(tasks)
    optimiser = _new_optimiser(net, settings, device)
    parameters = [p for group in optimiser.param_groups for p in group["params"]]
    task_names = [task.name for task in tasks]
    curve: dict[str, list[float]] = {"epoch": [], "train_loss": [], "val_loss": []}
    patience = settings.patience_for(
        len(train) if train_rows is None else len(train_rows)
    )
    best = (math.inf, 0, copy.deepcopy(net.state_dict()))
    snapshots: list[tuple[float, int, dict]] = []
    started = time.perf_counter()
    stop_reason = "reached the epoch budget"
    epoch = 0
    for epoch in range(1, settings.max_epochs + 1):
        net.train()
        if train_rows is None:
            order = torch.randperm(len(train), generator=generator)
        else:
            order = train_rows[torch.randperm(len(train_rows), generator=generator)]
        total, seen = 0.0, 0
        out_of_time = False
        for batch in _shuffled_batches(train, order, settings.batch_size, device):
            if len(batch) < 2 and seen:
                continue  # a one-row batch adds noise and nothing else
            outputs = net.joined_outputs(batch.numeric, batch.categorical)
            loss = loss_fn(outputs, batch.labels, batch.weighted)
            # As zero_grad(set_to_none=True) does, without its overhead of about
            # 45 us per 128-row step (2-core AMD EPYC, torch 2.13).
            for parameter in parameters:
                parameter.grad = None
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
            seen += len(batch)
            budget = settings.time_budget_s
            if budget is not None and time.perf_counter() - started > budget:
                out_of_time = True
                break
        val_per_task = _evaluate(net, loss_fn, val, device)
        val_loss = float(sum(val_per_task))
        train_loss = total / max(seen, 1)
        curve["epoch"].append(epoch)
        curve["train_loss"].append(train_loss)
        curve["val_loss"].append(val_loss)
        finite = math.isfinite(train_loss) and math.isfinite(val_loss)
        improved = finite and val_loss < best[0] - 1e-6
        if improved or (finite and settings.averaged_epochs):
            # One copy serves both lists: a kept state is only read afterwards.
            state = copy.deepcopy(net.state_dict())
            if improved:
                best = (val_loss, epoch, state)
            if settings.averaged_epochs:
                snapshots.append((val_loss, epoch, state))
                # Only the lowest losses can be tried, so the others are dropped.
                snapshots.sort(key=lambda snapshot: (snapshot[0], snapshot[1]))
                del snapshots[settings.averaged_epochs + 1 :]
        elapsed = time.perf_counter() - started
        logger.debug(
            "epoch %d: train loss %.4f, validation loss %.4f",
            epoch,
            train_loss,
            val_loss,
        )
        if on_epoch is not None:
            report = EpochReport(
                epoch=epoch,
                max_epochs=settings.max_epochs,
                elapsed_s=elapsed,
                train_loss=train_loss,
                val_loss=val_loss,
                val_loss_per_task=dict(zip(task_names, val_per_task, strict=True)),
            )
            if on_epoch(report) is False:
                raise RunCancelled("the run was stopped before it finished")
        if not finite:
            # The weights are NaN or infinite from here on, so the best epoch's
            # weights are kept, as after an early stop.
            stop_reason = f"stopped: the loss was not a finite number in epoch {epoch}"
            logger.warning("training %s", stop_reason)
            break
        if out_of_time:
            stop_reason = "reached the time budget"
            break
        if epoch - best[1] >= patience:
            stop_reason = f"early stop: no better validation loss for {patience} epochs"
            break
    if best[1] == 0:
        raise MtlError(
            f"training the network for {', '.join(task_names)} failed: the loss was "
            "not a finite number in its first epoch. Exclude columns with extreme "
            "values, or run again with another seed"
        )
    net.load_state_dict(best[2])
    averaged = [best[1]]
    if len(snapshots) > 1:
        averaged = _average_epochs(
            net, loss_fn, val, device, snapshots, settings.averaged_epochs
        )
    seconds = time.perf_counter() - started
    logger.info(
        "trained %s in %.1f s, %d epochs (best %d, %s), weights of epochs %s",
        ", ".join(task_names),
        seconds,
        epoch,
        best[1],
        stop_reason,
        ", ".join(str(number) for number in averaged),
    )
    return FitResult(seconds, epoch, best[1], curve, stop_reason, averaged)


def _average_epochs(net, loss_fn, val, device, snapshots, n_tried) -> list[int]:
    """Average the best epoch's weights with others that lower the validation loss.

    The ``n_tried`` epochs with the next-lowest validation losses are tried in that
    order: each joins the uniform average only if the averaged weights score a
    lower validation loss than the average without it. ``net`` is left with the
    final average. ``snapshots`` are (loss, epoch, state), lowest loss first.
    Returns the epochs in the average, best first.
    """
    best_loss, best_epoch, best_state = snapshots[0]
    members = [best_state]
    epochs = [best_epoch]
    for _, epoch, state in snapshots[1 : n_tried + 1]:
        net.load_state_dict(_mean_state([*members, state]))
        loss = float(sum(_evaluate(net, loss_fn, val, device)))
        if loss < best_loss - 1e-6:
            members.append(state)
            epochs.append(epoch)
            best_loss = loss
    net.load_state_dict(_mean_state(members))
    return epochs


def _mean_state(states: list[dict]) -> dict:
    """Return the element-wise mean of the floating-point entries of ``states``.

    Other entries (integer buffers such as bin positions) are the same in every
    epoch and are taken from the first state.
    """
    mean = {}
    for name, first in states[0].items():
        if first.is_floating_point():
            mean[name] = torch.stack([state[name] for state in states]).mean(dim=0)
        else:
            mean[name] = first
    return mean


def predict_network(
    net: SharedTrunkNet, data: NetInputs, tasks: list[Task], device: torch.device
) -> list[np.ndarray]:
    """Predict every task: probabilities for classification, model units for regression.

    Returns per task an array of shape ``(n_rows,)`` (binary: probability of the
    positive class; regression: standardised value) or ``(n_rows, n_classes)``.
    """
    net.eval()
    parts: list[list[np.ndarray]] = [[] for _ in tasks]
    with torch.no_grad():
        for start in range(0, len(data), EVAL_BATCH):
            part = slice(start, start + EVAL_BATCH)
            outputs = net(
                data.numeric[part].to(device), data.categorical[part].to(device)
            )
            for i, (task, output) in enumerate(zip(tasks, outputs, strict=True)):
                if task.kind == "binary":
                    values = torch.sigmoid(output[:, 0])
                elif task.kind == "multiclass":
                    values = torch.softmax(output, dim=1)
                else:
                    values = output[:, 0]
                parts[i].append(values.cpu().numpy().astype(np.float64))
    return [np.concatenate(chunks) for chunks in parts]
