"""The machine and software a benchmark ran on, and how busy the machine was."""

from __future__ import annotations

import os
import platform
from importlib import metadata

PACKAGES = (
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "lightgbm",
    "scikit-learn",
    "streamlit",
)


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def total_ram_gib() -> float | None:
    """Return the machine's memory in GiB from /proc/meminfo, or None."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def load_average() -> float | None:
    """Return the 1-minute load average, or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def versions() -> dict[str, str]:
    """Return the Python version and the installed versions of the main packages."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe() -> dict[str, object]:
    """Return CPU model, core count, RAM, OS and package versions."""
    import torch

    ram = total_ram_gib()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1) if ram is not None else None,
        "os": f"{platform.system()} {platform.release()}",
        "torch_threads": torch.get_num_threads(),
        "versions": versions(),
    }
