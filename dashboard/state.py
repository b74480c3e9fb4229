"""Session state of the dashboard: the loaded data, the running job and the results.

The page keeps one data set, one job and one set of results per browser session.
Loading new files drops the old frame, stops the old job and drops the old
results, so memory stays flat over repeated uploads.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import streamlit as st

from mtl_core.config import CompareConfig

logger = logging.getLogger(__name__)

DATA = "data"  # {"key": str, "loaded": LoadedData, "label": str, "is_sample": bool}
JOB = "job"  # TrainingJob while a run is going
RESULTS = "results"  # {"metrics": dict, "run_key": str, "description": dict}
LAST_OUTCOME = "last_outcome"  # (level, message) of the last run that gave no results
RUNS_STARTED = "runs_started"  # count of runs started in this session
UPLOAD_HASHES = "upload_hashes"  # {(file_id, name, size): sha256} of uploaded files
PDF = "pdf"  # {"hash": str, "bytes": bytes}
# {"hash": str, "figures": {chart key: go.Figure}, "time_cost": (price, go.Figure)}
FIGURES = "figures"
DERIVED = "derived_targets"  # {data key: {name: TaskSpec}}
LOAD_ERROR = "load_error"  # {"key": str, "message": str} of the last failed load
TASK_PREVIEW = "task_preview"  # (choice key, (tasks, skipped, selection))

# Settings that only enter the savings figures; changing them never retrains.
COST_SETTINGS = ("price_per_hour", "upkeep_per_model_month")


def content_hash(sources: Sequence[tuple[str, bytes]]) -> str:
    """Hash file names and contents, in order, into one hex digest."""
    digest = hashlib.sha256()
    for name, data in sources:
        digest.update(name.encode("utf-8", "surrogatepass"))
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def upload_hash(uploads: Sequence[Any]) -> str:
    """Hash uploaded files, reusing the digest of a file already seen.

    Every widget change reruns the page. Hashing a 200 MB upload takes about half
    a second, so digests are kept per upload id for the session.
    """
    seen = st.session_state.setdefault(UPLOAD_HASHES, {})
    ids = [(upload.file_id, upload.name, upload.size) for upload in uploads]
    digests = []
    for upload, file_key in zip(uploads, ids, strict=True):
        if file_key not in seen:
            seen[file_key] = content_hash([(upload.name, upload.getvalue())])
        digests.append(seen[file_key])
    for stale in set(seen) - set(ids):
        del seen[stale]
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def replace_data(key: str, loaded: Any, label: str, is_sample: bool) -> None:
    """Store newly loaded data and drop everything computed from the old data."""
    clear_data()  # also drops the record of an earlier failed load
    st.session_state[DATA] = {
        "key": key,
        "loaded": loaded,
        "label": label,
        "is_sample": is_sample,
    }


def clear_data() -> None:
    """Drop the frame, stop and drop any job, and drop everything computed from it."""
    old = st.session_state.pop(DATA, None)
    if old is not None:
        logger.info("Dropping data %s and its results", old["key"][:8])
        st.session_state.get(DERIVED, {}).pop(old["key"], None)
    job = st.session_state.pop(JOB, None)
    if job is not None:
        job.cancel()
    for key in (RESULTS, PDF, FIGURES, LAST_OUTCOME, TASK_PREVIEW, LOAD_ERROR):
        st.session_state.pop(key, None)


def run_key(data_key: str, config: CompareConfig) -> str:
    """Hash the data and every setting that shapes a run's results.

    The price and upkeep are left out because they only enter the savings
    figures, which the page recomputes without training.
    """
    settings = {
        name: value
        for name, value in config.settings().items()
        if name not in COST_SETTINGS
    }
    # settings() names targets without their kind, so the specs go in whole. They
    # are sorted because a run trains them in column order, whatever the order picked.
    settings["targets"] = sorted(
        json.dumps([spec.column, spec.kind, spec.operator, spec.threshold])
        for spec in config.targets
    )
    text = json.dumps(
        {"data": data_key, "settings": settings}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def metrics_hash(metrics: dict) -> str:
    """Hash a metrics dict, for caching the reports rendered from it."""
    text = json.dumps(metrics, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
