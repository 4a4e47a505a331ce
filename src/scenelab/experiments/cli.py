"""Command-line edges of the experiments layer: parse, call one library function, render.

``register(subparsers)`` adds ``experiment``, ``sensitivity``, ``calibrate``,
``export`` and ``optimize`` to scenelab's argparse CLI; each sets ``func`` to a handler
``(args) -> exit code``. ``main(argv)`` runs them standalone
(``python -m scenelab.experiments.cli experiment FILE --out DIR``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help="use a --out folder that holds files this command did not write (they are kept)",
    )


def _missing_extra(exc: ModuleNotFoundError, command: str) -> int:
    """One line naming the extra to install when an optional dependency is missing."""
    from scenelab.experiments import extra_hint

    hint = extra_hint(exc.name, "calibrate" if command == "cmd_calibrate" else None)
    if hint is None:
        raise exc
    _err(hint)
    return EXIT_BAD_INPUT


def _add_cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on an existing Dask cluster (default: a local cluster, one worker per core)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local worker processes; threads for a calibration of scenelab's model "
        "(default: one per core)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the experiments subcommands to scenelab's CLI.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers()``.
    """
    p = subparsers.add_parser(
        "experiment",
        help="run scenarios x a parameter design x replicates (resumable)",
        description="Run an experiment file into DIR/experiment.duckdb. Re-running the same "
        "command skips runs already stored.",
    )
    p.add_argument("file", type=Path, help="experiment file (.toml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="experiment directory")
    _add_force(p)
    _add_cluster_options(p)
    p.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                   help="no progress bar")  # fmt: skip
    p.set_defaults(func=cmd_experiment)

    p = subparsers.add_parser(
        "sensitivity",
        help="short form: Morris or Sobol sensitivity of one scenario",
        description="Build and run a Morris or Sobol experiment from the command line, then "
        "write DIR/sensitivity.html. For anything more, write an experiment file.",
    )
    p.add_argument("scenario", help="built-in scenario name or scenario file")
    p.add_argument(
        "--method", choices=("morris", "sobol"), default="morris", help="method (default morris)"
    )
    p.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="NAME[=LOW:HIGH]",
        help="parameter to vary (repeat); range defaults to the model's prior range",
    )
    p.add_argument(
        "--output", action="append", required=True, metavar="NAME", help="outcome (repeat)"
    )
    p.add_argument(
        "--n", type=int, help="morris trajectories (default 10) or sobol base samples (64)"
    )
    p.add_argument("--levels", type=int, default=4, help="morris grid levels")
    p.add_argument("--replicates", type=int, default=1, help="replicates per design point")
    p.add_argument("--seed", type=int, default=0, help="base seed, 0 to 2^32-1 (default 0)")
    p.add_argument("--until", help="stop runs at this date (YYYY-MM-DD)")
    p.add_argument("--model", default="scenelab", help="model name (default scenelab)")
    p.add_argument("--batch-size", type=int, default=1, help="runs per Dask task")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    _add_force(p)
    _add_cluster_options(p)
    p.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                   help="no progress bar")  # fmt: skip
    p.set_defaults(func=cmd_sensitivity)

    p = subparsers.add_parser(
        "calibrate",
        help="ABC-SMC calibration to target statistics (needs scenelab[calibrate])",
        description="Calibrate parameters against targets with pyabc; writes the weighted "
        "posterior, pyabc database, plots and a posterior predictive check to DIR. scenelab's "
        "model runs in --workers threads of this process unless --scheduler names a Dask "
        "cluster; other models run on a local Dask cluster.",
    )
    p.add_argument("file", type=Path, help="calibration file (.toml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    _add_force(p)
    _add_cluster_options(p)
    p.set_defaults(func=cmd_calibrate)

    p = subparsers.add_parser(
        "robustness",
        help="map an outcome over a site-attribute shift x a parameter (resumable)",
        description="Run a robustness file into DIR/experiment.duckdb (tables robustness_runs, "
        "robustness_cells) and draw DIR/robustness.html. Re-running skips stored runs.",
    )
    p.add_argument("file", type=Path, help="robustness file (.toml)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    _add_force(p)
    p.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                   help="no line per run")  # fmt: skip
    p.set_defaults(func=cmd_robustness)

    p = subparsers.add_parser(
        "status",
        help="show an experiment folder's progress (also when its process was killed)",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="experiment folder")
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser(
        "export",
        help="export an experiment's tables to Parquet or CSV",
        description="Copy tables of DIR/experiment.duckdb to one file per table.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="experiment directory")
    p.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="file format (parquet)"
    )
    p.add_argument("--to", type=Path, metavar="PATH", help="target directory (default DIR/FORMAT)")
    p.add_argument("--table", action="append", metavar="NAME", help="table to export (repeat)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser(
        "optimize",
        help="multi-objective search for strategies (NSGA-II; resumable)",
        description="Search strategy levers on a base scenario for the Pareto front of the "
        "objectives: scenelab optimize FILE --out DIR. Re-running the same command continues a "
        "stopped search. Export a point of the front as a scenario file: scenelab optimize DIR "
        "--export N [--to FILE].",
    )
    p.add_argument("path", type=Path, help="optimize file (.toml), or DIR with --export")
    p.add_argument("--out", type=Path, metavar="DIR", help="search folder")
    p.add_argument("--export", type=int, metavar="N", help="write point N of DIR's front")
    p.add_argument("--to", type=Path, metavar="FILE", help="export target (DIR/point-N.toml)")
    _add_force(p)
    _add_cluster_options(p)
    p.add_argument("--no-progress", "--quiet", dest="no_progress", action="store_true",
                   help="no progress bar")  # fmt: skip
    p.set_defaults(func=cmd_optimize)


def _print_result(result: Any) -> int:  # noqa: ANN401 - ExperimentResult
    print(
        f"{result.skipped + result.completed} of {result.total} runs stored "
        f"({result.completed} new, {result.skipped} already stored, {result.failed} failed) "
        f"in {result.db_path} [{result.elapsed_s:.1f} s]"
    )
    for run_id, line in result.failures[:5]:
        print(f"  failed {run_id}: {line}", file=sys.stderr)
    if len(result.failures) > 5:
        print(f"  ... and {len(result.failures) - 5} more failures", file=sys.stderr)
    if result.sensitivity is not None:
        table = result.sensitivity.table
        main = table[table["index"].isin(["S1", "ST", "mu_star"])]
        wide = main.pivot_table(
            index=["arm", "output", "parameter"], columns="index", values="value", sort=False
        )
        print(wide.round(3).to_string())
        print(f"sensitivity: {result.sensitivity.html_path}")
    if not result.complete:
        print("incomplete: run the same command again to retry failed runs", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


_EXPERIMENT_FILES = ("experiment.duckdb", "status.json")
_CALIBRATION_FILES = ("calibration.db", "posterior.csv")


def _run(spec: Any, args: argparse.Namespace) -> int:  # noqa: ANN401 - ExperimentSpec
    from scenelab.experiments.runner import run_experiment
    from scenelab.outputs import check_workspace

    check_workspace(args.out, _EXPERIMENT_FILES, force=args.force)
    try:
        result = run_experiment(
            spec,
            args.out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return _print_result(result)


def _guard(fn: Any) -> Any:  # noqa: ANN401
    """Turn input errors into one clear line and exit code 2."""

    def wrapped(args: argparse.Namespace) -> int:
        from scenelab.errors import ScenelabError

        try:
            from scenelab.experiments.store import StoreError

            try:
                return fn(args)
            except (ScenelabError, StoreError, ValueError, FileNotFoundError) as exc:
                _err(str(exc))
                return EXIT_BAD_INPUT
        except ModuleNotFoundError as exc:
            return _missing_extra(exc, fn.__name__)

    wrapped.__doc__ = fn.__doc__
    wrapped.__name__ = fn.__name__
    return wrapped


@_guard
def cmd_experiment(args: argparse.Namespace) -> int:
    """``scenelab experiment FILE --out DIR``."""
    from scenelab.experiments.spec import load_experiment

    return _run(load_experiment(args.file), args)


@_guard
def cmd_robustness(args: argparse.Namespace) -> int:
    """``scenelab robustness FILE --out DIR``."""
    from scenelab.experiments.robustness import load_robustness, run_robustness
    from scenelab.outputs import check_workspace

    spec, base_dir = load_robustness(args.file)
    check_workspace(args.out, _EXPERIMENT_FILES, force=args.force)
    try:
        result = run_robustness(
            spec, base_dir, args.out, progress=not args.no_progress, file=args.file
        )
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    cells = result.cells
    print(f"{result.ran} runs now, {len(result.runs)} stored; {len(cells)} cells, "
          f"{int(cells['bistable'].sum())} bistable")  # fmt: skip
    print(cells.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"wrote {result.html}" + (f" and {result.png}" if result.png else " (no kaleido: no PNG)")
    )
    return EXIT_OK


def _param_arg(text: str) -> tuple[str, dict[str, float]]:
    name, sep, rng = text.partition("=")
    if not sep:
        return name.strip(), {}
    low, colon, high = rng.partition(":")
    if not colon:
        raise ValueError(f"--param {text!r}: expected NAME or NAME=LOW:HIGH")
    try:
        return name.strip(), {"low": float(low), "high": float(high)}
    except ValueError:
        raise ValueError(f"--param {text!r}: LOW and HIGH must be numbers") from None


@_guard
def cmd_sensitivity(args: argparse.Namespace) -> int:
    """``scenelab sensitivity SCENARIO --method morris|sobol --param ... --output ...``."""
    from scenelab.experiments.spec import parse_experiment

    params = dict(_param_arg(p) for p in args.param)
    n = args.n or (10 if args.method == "morris" else 64)
    experiment: dict[str, Any] = {
        "name": f"sensitivity-{args.method}",
        "model": args.model,
        "seed": args.seed,
        "replicates": args.replicates,
        "batch_size": args.batch_size,
    }
    if args.until:
        import datetime as dt

        try:
            experiment["until"] = dt.date.fromisoformat(args.until)
        except ValueError:
            raise ValueError(f"--until {args.until!r}: write a date as YYYY-MM-DD") from None
    design: dict[str, Any] = {"kind": args.method, "n": n, "parameters": params}
    if args.method == "morris":
        design["levels"] = args.levels
    data = {
        "experiment": experiment,
        "arms": [{"name": "base", "scenario": args.scenario}],
        "design": design,
        "sensitivity": {"outputs": list(args.output)},
    }
    return _run(parse_experiment(data, "<command line>"), args)


@_guard
def cmd_calibrate(args: argparse.Namespace) -> int:
    """``scenelab calibrate FILE --out DIR``."""
    from scenelab.experiments.calibrate import calibrate
    from scenelab.experiments.spec import load_calibration

    spec = load_calibration(args.file)
    from scenelab.outputs import check_workspace

    check_workspace(args.out, _CALIBRATION_FILES, force=args.force)
    try:
        result = calibrate(spec, args.out, scheduler=args.scheduler, n_workers=args.workers)
    except KeyboardInterrupt:
        _err(
            f"interrupted: finished generations are kept in {Path(args.out) / 'calibration.db'}; "
            "re-run the same command to continue"
        )
        return EXIT_INTERRUPTED
    print(
        f"{result.generations} generations, {result.n_simulations} simulations, "
        f"final epsilon {result.epsilons[-1]:.4g} [{result.elapsed_s:.1f} s]"
    )
    stop = result.stopping
    print(
        f"stopped by {stop['stopped_by']} "
        f"({'converged' if stop['converged'] else 'not converged: a cap'}); "
        f"rules met: {', '.join(stop['rules_met']) or 'none'}"
    )
    print(result.summary.round(4).to_string(index=False))
    print(result.check.round(4).to_string(index=False))
    print(f"posterior: {Path(args.out) / 'posterior.csv'}; plots: {result.html_path}")
    return EXIT_OK


@_guard
def cmd_status(args: argparse.Namespace) -> int:
    """``scenelab status DIR``."""
    from scenelab.experiments.runner import read_status

    status = read_status(args.dir)
    print(
        f"{status.get('experiment', '?')}: {status.get('state', '?')}, "
        f"{status.get('stored', '?')} of {status.get('total', '?')} runs stored, "
        f"{status.get('failed', 0)} failed (updated {status.get('updated_at', '?')})"
    )
    if status.get("note"):
        print(status["note"])
    return EXIT_OK


@_guard
def cmd_export(args: argparse.Namespace) -> int:
    """``scenelab export DIR --format parquet``."""
    from scenelab.experiments.store import export_tables

    for path in export_tables(args.dir, fmt=args.format, dest=args.to, tables=args.table):
        print(path)
    return EXIT_OK


_OPTIMIZE_FILES = ("experiment.duckdb", "status.json", "front.csv")


@_guard
def cmd_optimize(args: argparse.Namespace) -> int:
    """``scenelab optimize FILE --out DIR`` or ``scenelab optimize DIR --export N``."""
    if args.export is not None:
        from scenelab.experiments.optimize_report import export_point

        if args.out is not None:
            raise ValueError("--export reads the search folder given as PATH; drop --out")
        try:
            print(export_point(args.path, args.export, args.to, force=args.force))
        except LookupError as exc:
            raise ValueError(str(exc)) from None
        return EXIT_OK
    if args.out is None:
        raise ValueError("give --out DIR (where the search is stored), or --export N")
    from scenelab.experiments.optimize import OptimizeIncomplete, run_optimize
    from scenelab.experiments.optimize_spec import load_optimize
    from scenelab.outputs import check_workspace

    spec = load_optimize(args.path)
    check_workspace(args.out, _OPTIMIZE_FILES, force=args.force)
    try:
        result = run_optimize(
            spec, args.out, scheduler=args.scheduler, n_workers=args.workers,
            progress=not args.no_progress,
        )  # fmt: skip
    except KeyboardInterrupt:
        _err(f"interrupted: finished runs are stored in {args.out}; re-run the same command "
             "to continue")  # fmt: skip
        return EXIT_INTERRUPTED
    except OptimizeIncomplete as exc:
        _err(str(exc))
        return EXIT_INCOMPLETE
    print(
        f"{result.generations} generations, {result.evaluated} strategies evaluated "
        f"({result.runs_new} runs new, {result.runs_reused} reused) [{result.elapsed_s:.1f} s]"
    )
    if len(result.front):
        print(result.front.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for path in result.files:
        print(path)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments subcommands standalone.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit code.
    """
    parser = argparse.ArgumentParser(prog="scenelab")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
