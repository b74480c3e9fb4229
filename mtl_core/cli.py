"""Command line: ``python -m mtl_core compare FILE ... --target COL ... --out DIR``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mtl_core.errors import InputError, MtlError, RunCancelled

logger = logging.getLogger("mtl_core")
# CompareConfig's errors name its fields, while a CLI user types these options.
_OPTION_OF_SETTING = {
    "max_epochs": "--epochs",
    "time budget": "--time-budget",
    "price_per_hour": "--price-per-hour",
    "upkeep_per_model_month": "--upkeep-per-model-month",
    "n_bootstrap": "--bootstrap",
    "numeric_bins": "--numeric-bins",
    "threads": "--threads",
}

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_CANCELLED = 130


class _Parser(argparse.ArgumentParser):
    """Argument parser whose errors are one line, as every other input error."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see --help)\n")
        raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m mtl_core",
        description="Compare one shared multitask model with separate per-task models.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    compare = commands.add_parser(
        "compare", help="train all models on CSV files and write metrics and a report"
    )
    compare.add_argument(
        "files", nargs="+", type=Path, help="CSV files with the same columns"
    )
    compare.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="COL[:KIND]",
        help="column to predict; repeat for each task. KIND is binary, multiclass or "
        "regression (inferred when left out); 'COL>0' makes a binary task from a number",
    )
    compare.add_argument("--out", type=Path, required=True, help="output folder")
    compare.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="COL",
        help="column never used as a feature",
    )
    compare.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    compare.add_argument(
        "--epochs",
        type=int,
        default=30,
        help="epoch budget of every network (default 30)",
    )
    compare.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wall-clock budget of each network in seconds (default: none)",
    )
    compare.add_argument(
        "--price-per-hour",
        type=float,
        default=1.0,
        help="price of one compute hour, in your currency (default 1.0)",
    )
    compare.add_argument(
        "--upkeep-per-model-month",
        type=float,
        default=0.0,
        help="upkeep of one deployed model per month, in your currency (default 0)",
    )
    compare.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="bootstrap resamples for intervals (default 1000)",
    )
    compare.add_argument(
        "--numeric-bins",
        type=int,
        default=16,
        help="maximum number of quantile bins of each number's piecewise-linear "
        "encoding in the networks; 0 feeds numbers as scaled values only, which "
        "makes each epoch faster (default 16)",
    )
    compare.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the networks and LightGBM (default: all cores); 1 "
        "keeps a run steady when other work shares the cores",
    )
    compare.add_argument("--pdf", action="store_true", help="also write report.pdf")
    compare.add_argument("--verbose", action="store_true", help="log debug detail")
    return parser


def _progress_logger():
    last = {"stage": None, "epoch": -1}

    def report(event) -> None:
        if event.stage != last["stage"]:
            logger.info(
                "[%d/%d] %s", event.stage_index, event.n_stages, event.stage_label
            )
            last["stage"] = event.stage
        elif event.stage.startswith(("multitask", "single_task_nn")) and event.epoch:
            # The estimate assumes every network runs its whole epoch budget; early
            # stopping usually ends one sooner, so the estimate tends to be high.
            eta = (
                f", up to about {event.eta_s:.0f} s left"
                if event.eta_s is not None
                else ""
            )
            logger.info(
                "  epoch %d/%d, %.0f%% done%s",
                event.epoch,
                event.max_epochs,
                100 * event.fraction,
                eta,
            )

    return report


def run_compare(args: argparse.Namespace) -> int:
    from mtl_core.compare import run_comparison
    from mtl_core.config import CompareConfig
    from mtl_core.export import write_outputs
    from mtl_core.loading import load_csvs
    from mtl_core.tasks import TaskSpec

    if args.out.exists() and not args.out.is_dir():
        raise InputError(
            f"output folder {str(args.out)!r} is a file: give a folder path with --out"
        )
    for path in args.files:
        if path.is_dir():
            raise InputError(
                f"{str(path)!r} is a folder, not a file: name the CSV files inside it"
            )
        if not path.is_file():
            raise InputError(f"file {str(path)!r} not found: check the path")
    loaded = load_csvs(list(args.files))
    for note in loaded.notes:
        logger.info("load: %s", note.message)
    columns = list(loaded.frame.columns)
    targets = tuple(TaskSpec.parse(text, columns) for text in args.target)
    try:
        config = CompareConfig(
            targets=targets,
            exclude=tuple(args.exclude),
            seed=args.seed,
            max_epochs=args.epochs,
            time_budget_s=args.time_budget,
            price_per_hour=args.price_per_hour,
            upkeep_per_model_month=args.upkeep_per_model_month,
            n_bootstrap=args.bootstrap,
            numeric_bins=args.numeric_bins,
            threads=args.threads,
        )
    except InputError as err:
        raise InputError(_with_option_names(str(err))) from err
    file_info = [vars(info) for info in loaded.files]
    result = run_comparison(loaded.frame, config, _progress_logger(), file_info)
    result.metrics["run"]["load_notes"] = [note.message for note in loaded.notes]
    paths = write_outputs(result.metrics, args.out, pdf=args.pdf)
    for name, path in paths.items():
        logger.info("wrote %s: %s", name, path)
    sys.stdout.write(results_summary(result.metrics))
    return EXIT_OK


def _with_option_names(message: str) -> str:
    """Name the command-line option in a setting's error instead of its field."""
    for field, option in _OPTION_OF_SETTING.items():
        message = message.replace(f"invalid {field} ", f"invalid {option} ")
    return message


def results_summary(metrics: dict) -> str:
    """Return the run's verdicts, warnings, skipped targets and savings as text.

    The verdicts are the report's findings, one sentence each. A savings line gives
    each result with its unit, which explains what a negative value means.
    """
    from mtl_core.report_content import (
        findings,
        run_warnings,
        savings_figures,
        summary_sentence,
    )

    lines = [summary_sentence(metrics)]
    lines += [f"- {finding.text}" for finding in findings(metrics)]
    warnings = run_warnings(metrics)
    if warnings:
        lines.append("Warnings:")
        lines += [f"- {warning}" for warning in warnings]
    skipped = metrics.get("skipped_tasks") or []
    if skipped:
        lines.append("Targets not trained:")
        lines += [f"- {item['column']}: {item['reason']}" for item in skipped]
    lines.append("Savings (the formulas are in the report):")
    for figure in savings_figures(metrics):
        results = [
            f"{label.removeprefix('Result: ')} {value}"
            for label, value in figure.rows
            if label.startswith("Result")
        ]
        units = [value for label, value in figure.rows if label == "Unit"]
        # Square brackets, because the units often end in a parenthesis.
        unit = f" [units: {units[0]}]" if units else ""
        lines.append(f"- {figure.title}: {'; '.join(results)}{unit}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    # fontTools logs each font subset it writes into a PDF, and kaleido and
    # choreographer log each step of the Chromium session that draws its charts.
    quiet_loggers = ["fontTools"]
    if not args.verbose:
        quiet_loggers += ["kaleido", "choreographer"]
    for name in quiet_loggers:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return run_compare(args)
    except InputError as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_INPUT
    except RunCancelled as err:
        sys.stderr.write(f"error: {err}\n")
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        sys.stderr.write("error: stopped by the user before the run finished\n")
        return EXIT_CANCELLED
    except MtlError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
