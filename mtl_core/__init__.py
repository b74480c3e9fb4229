"""Compare one shared multitask model with separate per-task models on tabular data."""

__version__ = "0.1.0"
