"""Command line: parse, call one library function, render. Also ``python -m scenelab``.

Exit codes: 0 done; 1 an invalid scenario file (``validate``, ``run``) or an internal error (one
line naming the file that holds the trace); 2 a bad argument, option or output directory (one
line saying what would be valid); 130 interrupted. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import faulthandler
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from scenelab.errors import ArgumentError, ScenelabError, report_internal_error

EXIT_OK = 0
EXIT_INVALID_SCENARIO = 1
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
_MAX_SEED = 2**32 - 1


# -- argument types: each rejects a bad value with one line (argparse exits 2) -------------------


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write YYYY-MM-DD, e.g. 2015-12-31"
        ) from None


def _int_in(low: int, high: int, what: str) -> object:
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be from {low} to {high} (got {value})")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


_seed = _int_in(0, _MAX_SEED, "seed")
_replicates = _int_in(1, 10_000, "replicates")
_seeds = _int_in(1, 1_000, "seeds")
_workers = _int_in(1, 256, "workers")


def _workers_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="replicates run at once, in threads of this process (default: the cores this "
        "process may use); results do not depend on it",
    )


def _worker_count(args: argparse.Namespace) -> int:
    from scenelab.parallel import default_workers

    return args.workers or default_workers()


def _assignment(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE, e.g. b_risk=2.0")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    return name.strip(), number


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (``scenelab run: error: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _progress_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quiet",
        "--no-progress",
        dest="quiet",
        action="store_true",
        help="no progress bar or per-run lines",
    )


def _run_options(p: argparse.ArgumentParser, replicates_default: str) -> None:
    """Options shared by every command that simulates and writes an output folder."""
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder: new, empty, or written by scenelab before (only its own files are "
        "replaced); a folder with other files is refused unless --force",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a folder holding files scenelab did not write (they are kept)",
    )
    p.add_argument("--seed", type=_seed, default=None, help="run seed, 0 to 2^32-1 (default: "
                   "the scenario's)")  # fmt: skip
    p.add_argument(
        "--replicates", type=_replicates, default=None, help=f"replicates, 1 to 10000 "
        f"(default: {replicates_default})"
    )  # fmt: skip
    p.add_argument(
        "--until", type=_date, default=None, metavar="YYYY-MM-DD",
        help="last simulated day, inside the scenario's window (default: its end)",
    )  # fmt: skip
    p.add_argument(
        "--set",
        dest="overrides",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a model parameter (repeat; see `scenelab params`)",
    )
    _progress_options(p)


# -- commands ----------------------------------------------------------------------------------


def _print_advice(scn: object, advice: list) -> None:
    for item in advice:
        print(item.line(scn.source), file=sys.stderr)  # type: ignore[attr-defined]


def _cmd_run(args: argparse.Namespace) -> int:
    from scenelab.runs import run_to_directory

    run_to_directory(
        args.scenario,
        Path(args.out),
        seed=args.seed,
        replicates=args.replicates,
        until=args.until,
        progress=not args.quiet,
        force=args.force,
        overrides=dict(args.overrides) or None,
        on_start=_print_advice,
        workers=_worker_count(args),
    )
    print(f"wrote {args.out}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from scenelab.scenario.loader import load_scenario

    scn = load_scenario(args.file)
    print(f"{scn.source}: valid ({len(scn.sites)} sites, {len(scn.interventions)} interventions)")
    from scenelab.scenario.advice import advise

    _print_advice(scn, advise(scn))
    return EXIT_OK


def _cmd_new(args: argparse.Namespace) -> int:
    from scenelab.outputs import atomic_text, check_output_file
    from scenelab.scenario.loader import new_city_text, parse_text

    text = new_city_text(args.name, args.title)
    target = Path(args.out) if args.out else Path(f"{args.name}.toml")
    if target.exists() and not args.force:
        raise ArgumentError(f"{target}: exists; choose another --out or pass --force to replace it")
    check_output_file(target, text.splitlines()[0], force=True)
    parse_text(text, target.name)  # the template must always validate
    atomic_text(text, target)
    print(f"wrote {target}: a small starting city; edit it, then")
    print(f"  scenelab validate {target}")
    print(f"  scenelab run {target} --out out/{args.name}")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from scenelab.scenario.loader import builtin_text

    try:
        text = builtin_text(args.name)
    except KeyError as exc:
        raise ArgumentError(str(exc.args[0])) from None
    print(text, end="")
    return EXIT_OK


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from scenelab.scenario.loader import builtin_names, load_scenario

    for name in builtin_names():
        print(f"{name:28s} {load_scenario(name).scenario.title}")
    return EXIT_OK


def _cmd_phases(args: argparse.Namespace) -> int:
    from scenelab.model.phases import PHASES

    for k, phase in enumerate(PHASES, 1):
        print(f"{k:2d}. {phase.name:14s} {phase.reason}")
    return EXIT_OK


def _cmd_params(args: argparse.Namespace) -> int:
    from scenelab.model.params import PARAMETERS

    if args.json:
        print(json.dumps([p.__dict__ for p in PARAMETERS], indent=2))
        return EXIT_OK
    for p in PARAMETERS:
        note = f"  calibrated (from {p.start:g})" if p.calibrated else ""
        print(
            f"{p.name:40s} {p.default:>10g} {p.unit:12s} [{p.low:g}, {p.high:g}]  {p.mechanism}"
            f"{note}"
        )
    return EXIT_OK


def _cmd_odd(args: argparse.Namespace) -> int:
    from scenelab.docs_odd import render_literature, render_odd

    text = render_literature() if args.literature else render_odd()
    if args.out:
        from scenelab.outputs import atomic_text, check_output_file

        head = text.splitlines()[0] if text else ""
        target = check_output_file(args.out, head, force=args.force)
        atomic_text(text, target)
    else:
        print(text, end="")
    return EXIT_OK


def _cmd_patterns(args: argparse.Namespace) -> int:
    from scenelab.patterns import load_patterns, pattern_table
    from scenelab.scenario.loader import load_scenario

    scn = load_scenario(args.scenario)
    if not load_patterns(scn):
        stem = Path(scn.source).stem
        raise ArgumentError(
            f"{scn.source} defines no observed patterns: write them in {stem}.patterns.toml "
            "beside it (the format: docs/calibration-bergen.md, 'Pattern files')"
        )
    table = pattern_table(scn, list(range(1, args.seeds + 1)), workers=_worker_count(args))
    print(f"{'pattern':8s} {'figure':28s} {'mean':>9s} {'min':>9s} {'max':>9s}  holds")
    for (pattern, figure), part in table.groupby(["pattern", "figure"], sort=False):
        holds = part.drop_duplicates("seed")["holds"]
        print(
            f"{pattern:8s} {figure:28s} {part['value'].mean():9.1f} {part['value'].min():9.1f} "
            f"{part['value'].max():9.1f}  {int(holds.sum())}/{len(holds)}"
        )
    for pattern, part in table.groupby("pattern", sort=False):
        holds = part.drop_duplicates("seed")["holds"]
        verdict = "PASS" if holds.all() else ("MIXED" if holds.any() else "FAIL")
        print(
            f"{pattern}: {verdict} ({int(holds.sum())}/{len(holds)} seeds) target: "
            f"{part['target'].iloc[0]}"
        )
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    from scenelab.compare import compare_to_directory

    compare_to_directory(
        args.scenarios,
        Path(args.out),
        replicates=args.replicates or 5,
        seed=1 if args.seed is None else args.seed,
        progress=not args.quiet,
        until=args.until,
        force=args.force,
        overrides=dict(args.overrides) or None,
        workers=_worker_count(args),
    )
    summary = json.loads((Path(args.out) / "summary.json").read_text(encoding="utf-8"))
    for item in summary.get("verdicts", []):
        print("\n".join(item["sentences"]) + "\n")
    print(f"wrote {args.out} (the verdict opens report.html)")
    return EXIT_OK


def _cmd_dashboard(args: argparse.Namespace) -> int:
    try:
        from scenelab.dashboard.app import serve
    except ImportError as exc:
        raise ArgumentError(
            f"{exc.name} is not installed: install the dashboard extra: "
            "pip install 'scenelab[dashboard]'"
        ) from None
    serve(args.scenario, host=args.host, port=args.port, workers=args.workers)
    return EXIT_OK


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked: reading package metadata costs about 0.1 s."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from scenelab.provenance import version

        print(f"scenelab {version()}")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``scenelab`` command."""
    parser = _Parser(prog="scenelab", description="A policy laboratory for open drug scenes.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="run a scenario and write its tables and report")
    p.add_argument("scenario", help="built-in name (e.g. bergen) or path to a scenario .toml")
    _run_options(p, "the scenario's")
    _workers_option(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("patterns", help="measure the Bergen patterns over several seeds")
    p.add_argument("scenario", help="bergen, or a scenario with the same site ids")
    p.add_argument("--seeds", type=_seeds, default=5, help="seeds 1..N to run (default 5)")
    _workers_option(p)
    p.set_defaults(func=_cmd_patterns)

    p = sub.add_parser("compare", help="run strategies with common random numbers and compare")
    p.add_argument(
        "scenarios", nargs="+", help="built-in names or scenario files; the first is the reference"
    )
    _run_options(p, "5")
    _workers_option(p)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("validate", help="check a scenario file without running it")
    p.add_argument("file", help="scenario .toml file (or a built-in name)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("new", help="write a small, commented starting city to edit")
    p.add_argument("name", help="the new scenario's name (lower-case letters, digits, _ and -)")
    p.add_argument("--title", default=None, help="a one-line title (default: NAME: a new city)")
    p.add_argument("--out", default=None, metavar="FILE", help="file to write (default NAME.toml)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=_cmd_new)

    p = sub.add_parser("show", help="print a built-in scenario's file")
    p.add_argument("name", help="built-in scenario name (see `scenelab scenarios`)")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("scenarios", help="list the built-in scenarios")
    p.set_defaults(func=_cmd_scenarios)

    p = sub.add_parser("phases", help="print the ordered phases of one tick")
    p.set_defaults(func=_cmd_phases)

    p = sub.add_parser("params", help="list the model parameters")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("odd", help="write the ODD description of the model")
    p.add_argument("--out", default=None, metavar="FILE", help="write to FILE (default: print)")
    p.add_argument(
        "--force", action="store_true", help="overwrite FILE even if scenelab did not write it"
    )
    p.add_argument(
        "--literature", action="store_true", help="write the sources of every default instead"
    )
    p.set_defaults(func=_cmd_odd)

    p = sub.add_parser("dashboard", help="a local web page: change a strategy, run it, compare")
    p.add_argument("scenario", nargs="?", default="bergen", help="built-in name or scenario "
                   ".toml shown first (default bergen)")  # fmt: skip
    p.add_argument("--port", type=_int_in(0, 65535, "port"), default=8050,
                   help="port (default 8050; 0 picks a free one)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: "
                   "this machine only; another address lets other machines connect)")  # fmt: skip
    _workers_option(p)
    p.set_defaults(func=_cmd_dashboard)

    from scenelab.experiments.cli import register

    register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scenelab`` command."""
    if hasattr(signal, "SIGUSR1") and threading.current_thread() is threading.main_thread():
        # `kill -USR1 <pid>` prints every thread's stack to stderr: what a stuck run is doing.
        # Only where stderr is a real file (not under a capturing test runner or notebook).
        with contextlib.suppress(AttributeError, OSError, ValueError):
            faulthandler.register(signal.SIGUSR1, file=sys.stderr.fileno(), all_threads=True)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except ScenelabError as exc:
        from scenelab.scenario.errors import ScenarioError

        for line in exc.lines():
            print(line if isinstance(exc, ScenarioError) else f"scenelab: {line}", file=sys.stderr)
        return EXIT_INVALID_SCENARIO if isinstance(exc, ScenarioError) else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("scenelab: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`scenelab params | head`): stop quietly, as Unix tools do.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, the trace in a file
        print(report_internal_error(exc), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
