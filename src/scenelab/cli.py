"""Command line: parse, call one library function, render. Also ``python -m scenelab``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from scenelab.scenario.errors import ScenarioError


def _cmd_run(args: argparse.Namespace) -> int:
    from scenelab.runs import run_to_directory

    run_to_directory(
        args.scenario,
        Path(args.out),
        seed=args.seed,
        replicates=args.replicates,
        until=dt.date.fromisoformat(args.until) if args.until else None,
        progress=not args.quiet,
    )
    print(f"wrote {args.out}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from scenelab.scenario.loader import load_scenario

    try:
        scn = load_scenario(args.file)
    except ScenarioError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    print(f"{scn.source}: valid ({len(scn.sites)} sites, {len(scn.interventions)} interventions)")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from scenelab.scenario.loader import builtin_text

    print(builtin_text(args.name), end="")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from scenelab.scenario.loader import builtin_names, load_scenario

    for name in builtin_names():
        print(f"{name:28s} {load_scenario(name).scenario.title}")
    return 0


def _cmd_phases(args: argparse.Namespace) -> int:
    from scenelab.model.phases import PHASES

    for k, phase in enumerate(PHASES, 1):
        print(f"{k:2d}. {phase.name:14s} {phase.reason}")
    return 0


def _cmd_params(args: argparse.Namespace) -> int:
    from scenelab.model.params import PARAMETERS

    if args.json:
        print(json.dumps([p.__dict__ for p in PARAMETERS], indent=2))
        return 0
    for p in PARAMETERS:
        print(f"{p.name:40s} {p.default:>10g} {p.unit:12s} [{p.low:g}, {p.high:g}]  {p.mechanism}")
    return 0


def _cmd_odd(args: argparse.Namespace) -> int:
    from scenelab.docs_odd import render_odd

    text = render_odd()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _cmd_patterns(args: argparse.Namespace) -> int:
    from scenelab.patterns import pattern_table
    from scenelab.scenario.loader import load_scenario

    scn = load_scenario(args.scenario)
    table = pattern_table(scn, list(range(1, args.seeds + 1)))
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
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from scenelab.compare import compare_to_directory

    compare_to_directory(
        args.scenarios,
        Path(args.out),
        replicates=args.replicates,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``scenelab`` command."""
    parser = argparse.ArgumentParser(
        prog="scenelab", description="A policy laboratory for open drug scenes."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a scenario and write its tables and report")
    p.add_argument("scenario", help="built-in name (e.g. bergen) or path to a scenario .toml")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=None, help="run seed (default: the scenario's)")
    p.add_argument("--replicates", type=int, default=None, help="replicates (default: scenario)")
    p.add_argument("--until", default=None, help="last simulated day, YYYY-MM-DD")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("patterns", help="measure the Bergen patterns over several seeds")
    p.add_argument("scenario", help="bergen, or a scenario with the same site ids")
    p.add_argument("--seeds", type=int, default=5)
    p.set_defaults(func=_cmd_patterns)

    p = sub.add_parser("compare", help="run strategies with common random numbers and compare")
    p.add_argument("scenarios", nargs="+", help="scenarios; the first is the reference")
    p.add_argument("--out", required=True)
    p.add_argument("--replicates", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("validate", help="check a scenario file without running it")
    p.add_argument("file")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("show", help="print a built-in scenario's file")
    p.add_argument("name")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("scenarios", help="list the built-in scenarios")
    p.set_defaults(func=_cmd_scenarios)

    p = sub.add_parser("phases", help="print the ordered phases of one tick")
    p.set_defaults(func=_cmd_phases)

    p = sub.add_parser("params", help="list the model parameters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("odd", help="write the ODD description of the model")
    p.add_argument("--out", default=None)
    p.set_defaults(func=_cmd_odd)

    from scenelab.experiments.cli import register

    register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scenelab`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    except (FileNotFoundError, KeyError) as exc:
        print(f"scenelab: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`scenelab params | head`): stop quietly, as Unix tools do.
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
