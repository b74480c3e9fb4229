"""Names of the three sides of a comparison, as keys in the metrics dict."""

SIDES: tuple[str, ...] = ("multitask", "single_task_nn", "lightgbm")
SEPARATE_SIDES: tuple[str, ...] = ("single_task_nn", "lightgbm")
SIDE_LABELS: dict[str, str] = {
    "multitask": "Shared multitask model",
    "single_task_nn": "Single-task networks",
    "lightgbm": "LightGBM",
}
