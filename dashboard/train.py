"""Step 3 of the page: run settings, the Train button, progress and Stop."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass

import streamlit as st

from dashboard import state
from dashboard.data import file_info_dicts
from dashboard.job import CANCELLED, DONE, FAILED, JobSnapshot, TrainingJob
from dashboard.tasks import TaskChoice
from dashboard.text import md, seconds
from mtl_core.config import CompareConfig
from mtl_core.errors import InputError
from mtl_core.number_format import (
    PRICE_DECIMALS,
    PRICE_FORMAT,
    UPKEEP_DECIMALS,
    UPKEEP_FORMAT,
    format_count,
)
from mtl_core.plural import counted

logger = logging.getLogger(__name__)

DEFAULTS = {field.name: field.default for field in dataclasses.fields(CompareConfig)}
PROGRESS_REFRESH_S = 0.5
# NOTE: mtl_core leaves torch's and LightGBM's thread count at "all cores" by
# default. On a 2-core machine with other work running, a run with 2 threads was
# measured 10 to 20 times slower than with 1, so the page defaults to 1.
DEFAULT_THREADS = 1
STOPPED_MESSAGE = "Run stopped; no results from it are shown."


@dataclass(frozen=True)
class Settings:
    """Values of the settings widgets."""

    max_epochs: int
    time_budget_s: float | None
    seed: int
    n_bootstrap: int
    lightgbm_rounds: int
    threads: int
    price_per_hour: float
    upkeep_per_model_month: float


def settings_sidebar() -> Settings:
    """Render the run and cost settings in the sidebar and return their values."""
    run = _run_settings(st.sidebar)
    price, upkeep = _cost_settings(st.sidebar)
    return Settings(**run, price_per_hour=price, upkeep_per_model_month=upkeep)


def _run_settings(bar) -> dict:
    bar.header("Run settings")
    max_epochs = bar.number_input(
        "Epochs per network",
        min_value=1,
        max_value=10_000,
        value=DEFAULTS["max_epochs"],
        step=1,
        key="epochs",
        help="Maximum passes over the training rows, the same for the shared network "
        f"and every single-task network. A network stops early when its validation "
        f"loss has not improved for {DEFAULTS['patience']} epochs, or for fewer "
        f"on a large table: as many epochs as hold "
        f"{DEFAULTS['patience_rows']:,} training rows, at least 2.",
    )
    time_budget = bar.number_input(
        "Time budget per network (seconds)",
        min_value=1.0,
        value=None,
        step=10.0,
        key="time_budget",
        placeholder="no limit",
        help="Optional. Each network stops after this many seconds even when epochs "
        "remain. Leave empty to train up to the epoch limit.",
    )
    seed = bar.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        value=DEFAULTS["seed"],
        step=1,
        key="seed",
        help="Fixes the split of rows, the starting weights, LightGBM and the "
        "bootstrap, so the same data and settings give the same results.",
    )
    with bar.expander("More settings"):
        n_bootstrap = st.number_input(
            "Bootstrap resamples",
            min_value=0,
            max_value=100_000,
            value=DEFAULTS["n_bootstrap"],
            step=100,
            key="bootstrap",
            help="Resamples of the test rows for the 95% intervals. Fewer is faster "
            "but gives rougher intervals; 0 gives no intervals and no verdicts.",
        )
        lightgbm_rounds = st.number_input(
            "LightGBM boosting rounds (maximum)",
            min_value=1,
            max_value=100_000,
            value=DEFAULTS["lightgbm_rounds"],
            step=100,
            key="lightgbm_rounds",
            help="Upper limit per LightGBM model; early stopping on the validation "
            "rows usually picks fewer.",
        )
        threads = st.number_input(
            "CPU threads per run",
            min_value=1,
            max_value=max(os.cpu_count() or 1, 1),
            value=DEFAULT_THREADS,
            step=1,
            key="threads",
            help="Threads that the networks and LightGBM use. One thread keeps "
            "training fast and its timings steady when the server runs other work "
            "or several runs at once; more threads can be faster on an idle machine.",
        )
    return {
        "max_epochs": int(max_epochs),
        "time_budget_s": None if time_budget is None else float(time_budget),
        "seed": int(seed),
        "n_bootstrap": int(n_bootstrap),
        "lightgbm_rounds": int(lightgbm_rounds),
        "threads": int(threads),
    }


def _cost_settings(bar) -> tuple[float, float]:
    bar.header("Costs")
    bar.caption("In your currency. Changing them updates the savings without training.")
    price = bar.number_input(
        "Price per compute hour",
        min_value=0.0,
        value=DEFAULTS["price_per_hour"],
        step=0.1,
        format=PRICE_FORMAT,
        key="price",
        help="What one hour of the machine that trains the models costs you.",
    )
    upkeep = bar.number_input(
        "Upkeep per model per month",
        min_value=0.0,
        value=DEFAULTS["upkeep_per_model_month"],
        step=10.0,
        format=UPKEEP_FORMAT,
        key="upkeep",
        help="Monthly cost of keeping one deployed model running and maintained. "
        "One shared model replaces one model per task.",
    )
    # The inputs show this many decimals, so the savings use the amounts shown:
    # a price of 0.00001 shows as 0.0000 and counts as 0.
    rounded = round(float(price), PRICE_DECIMALS)
    if rounded == 0 < float(price):
        smallest = f"{0.5 * 10**-PRICE_DECIMALS:.{PRICE_DECIMALS + 1}f}"
        bar.caption(f"A price below {smallest} shows and counts as 0.")
    return rounded, round(float(upkeep), UPKEEP_DECIMALS)


def build_config(choice: TaskChoice, settings: Settings) -> CompareConfig:
    """Build the run's config, raising InputError on an invalid setting."""
    return CompareConfig(
        targets=tuple(choice.specs),
        exclude=tuple(choice.exclude),
        seed=settings.seed,
        max_epochs=settings.max_epochs,
        time_budget_s=settings.time_budget_s,
        n_bootstrap=settings.n_bootstrap,
        lightgbm_rounds=settings.lightgbm_rounds,
        threads=settings.threads,
        price_per_hour=settings.price_per_hour,
        upkeep_per_model_month=settings.upkeep_per_model_month,
    )


def _page_check():
    """Return a function telling whether this page's session is still open.

    None where there is no server, as under AppTest.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), context.session_id
    if not isinstance(runtime, Runtime):  # AppTest's stand-in runtime
        return None
    return lambda: runtime.is_active_session(session_id)


def _start(entry: dict, config: CompareConfig, choice: TaskChoice, key: str) -> None:
    """Start a run in the background and remember it in the session."""
    loaded = entry["loaded"]
    description = {
        "data_label": entry["label"],
        "targets": [spec.name for spec in config.targets],
    }
    job = TrainingJob(run_key=key, description=description, page_open=_page_check())
    st.session_state[state.JOB] = job
    st.session_state.pop(state.LAST_OUTCOME, None)
    st.session_state[state.RUNS_STARTED] = (
        st.session_state.get(state.RUNS_STARTED, 0) + 1
    )
    job.start(
        loaded.frame,
        config,
        file_info_dicts(loaded),
        [note.message for note in loaded.notes],
    )


def train_section(entry: dict | None, choice: TaskChoice | None, settings: Settings):
    """Render the Train button and the progress of a running job.

    Returns the run key of the current choices, or None when they cannot train.
    """
    st.header("3. Train and compare")
    config, key = None, None
    if entry is not None and choice is not None:
        try:
            config = build_config(choice, settings)
            key = state.run_key(entry["key"], config)
        except InputError as err:
            st.error(f"**Invalid setting:** {err}")
    job = st.session_state.get(state.JOB)
    if config is not None:
        n_tasks = len(choice.tasks)
        st.write(
            f"Trains 1 shared network for the {counted(n_tasks, 'task')}, then "
            f"{counted(n_tasks, 'single-task network')} and "
            f"{counted(n_tasks, 'LightGBM model')}, all on the same "
            f"{1 - config.test_fraction - config.val_fraction:.0%} of the rows, and "
            f"scores them on the same {config.test_fraction:.0%} of test rows."
        )
    # The click is handled here, not in an on_click callback, so the run uses the
    # settings of this script run even when a setting changed with the same click.
    clicked = st.button(
        "Train and compare",
        type="primary",
        key="train",
        disabled=config is None or job is not None,
    )
    if clicked and config is not None and job is None:
        _start(entry, config, choice, key)
        st.rerun()
    outcome = st.session_state.get(state.LAST_OUTCOME)
    if outcome is not None and job is None:
        level, message = outcome
        getattr(st, level)(message)
    if job is not None:
        _progress_panel()
    return key


@st.fragment(run_every=PROGRESS_REFRESH_S)
def _progress_panel() -> None:
    """Show the running job, and when it ends, store its outcome and rerun the page."""
    job: TrainingJob | None = st.session_state.get(state.JOB)
    if job is None:
        return
    snapshot = job.snapshot()
    if snapshot.status == DONE:
        st.session_state[state.RESULTS] = {
            "metrics": snapshot.metrics,
            "run_key": job.run_key,
            "description": job.description,
        }
        st.session_state.pop(state.PDF, None)
        st.session_state.pop(state.FIGURES, None)
        st.session_state.pop(state.JOB, None)
        st.rerun()
    if snapshot.status in (CANCELLED, FAILED):
        if snapshot.status == CANCELLED:
            outcome = ("warning", STOPPED_MESSAGE)
        else:
            outcome = (
                "error",
                f"**The run failed, so it has no results:** {md(snapshot.error)}",
            )
        st.session_state[state.LAST_OUTCOME] = outcome
        st.session_state.pop(state.JOB, None)
        st.rerun()
    _show_progress(snapshot)
    st.button(
        "Stop",
        key="stop",
        disabled=snapshot.cancel_requested,
        on_click=job.cancel,
        help="Stops at the next epoch or boosting round. Nothing from this run is "
        "kept.",
    )


def _show_progress(snapshot: JobSnapshot) -> None:
    event = snapshot.latest
    if snapshot.cancel_requested:
        text = "Stopping at the next epoch or boosting round…"
    elif snapshot.queued:
        text = (
            "Waiting for another run on this server to end. Runs take turns, so "
            "that neither changes the other's results or fit times…"
        )
    elif event is None:
        text = "Preparing the data…"
    elif event.eta_s is None:
        text = f"{event.fraction:.0%} done, estimating the time left…"
    else:
        text = (
            f"{event.fraction:.0%} done, about {seconds(event.eta_s)} left "
            "(less when early stopping ends a network sooner)"
        )
    st.progress(0.0 if event is None else min(event.fraction, 1.0), text=text)
    lines = []
    for line in snapshot.stages:
        if line.finished_s is not None:
            took = seconds(line.finished_s - line.started_s)
            lines.append(f"✓ {md(line.label)}: done in {took}")
        elif line.step == 0:
            lines.append(f"▶ {md(line.label)}: starting")
        elif line.stage.startswith("lightgbm"):
            lines.append(
                f"▶ {md(line.label)}: boosting round {format_count(line.step)}"
            )
        else:
            lines.append(
                f"▶ {md(line.label)}: epoch {format_count(line.step)} of "
                f"{format_count(line.n_steps)}"
            )
    if event is not None and event.stage_index < event.n_stages:
        remaining = event.n_stages - event.stage_index
        lines.append(f"… {remaining} more stage{'s' if remaining != 1 else ''} to go")
    if event is not None and event.stage_index == event.n_stages:
        lines.append("Then the models are scored on the test rows with 95% intervals.")
    if lines:
        st.markdown("  \n".join(lines))
    st.caption(f"Running for {seconds(snapshot.elapsed_s)}.")
