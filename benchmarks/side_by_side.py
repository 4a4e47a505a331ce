"""Process CPU per replicate of two source trees, side by side, in paired alternating runs.

On a machine whose cores other jobs share, two timings taken minutes apart differ by 10-20% for
the same code. This script starts one persistent worker process per tree (each with its own
``PYTHONPATH`` and Numba cache directory, compiled or loaded before timing starts), then asks them
in turn to run the same replicate (Bergen 2012-2017 by default, seeds 1-5, the order of the two
swapped every round) and reads the CPU seconds of ``engine.run_model`` (``time.process_time``).
It reports each tree's median and the median of the paired ratios B / A. With ``--api`` the
timed call is ``scenelab.run`` up to ``--until`` (the engine plus the result tables, outcomes and
survey, as a calibration simulation pays for them) instead of ``engine.run_model``.

    .venv/bin/python benchmarks/side_by_side.py /tmp/main-ref/src src --rounds 6

A tree is a ``src`` directory; export one from git with
``git archive <commit> | tar -x -C /tmp/main-ref``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def worker(scenario: str, until: str | None = None) -> None:
    """Run replicates on request: read a seed per stdin line, print the run's CPU seconds.

    ``until`` (an ISO date) times ``scenelab.run`` up to that day instead of the engine alone.
    """
    import scenelab
    from scenelab.api import parameter_vector
    from scenelab.model import engine

    scn = scenelab.load_scenario(scenario)
    par = parameter_vector(scn)

    def once(seed: int) -> None:
        if until:
            scenelab.run(scn, seed=seed, until=until, progress=False)
        else:
            engine.run_model(scn, par, seed=seed)

    once(99)  # compile or load the cache; not timed
    print("ready", flush=True)
    for line in sys.stdin:
        started = time.process_time()
        once(int(line))
        print(f"{time.process_time() - started:.4f}", flush=True)


def start(src: str, cache: str, scenario: str, until: str | None = None) -> subprocess.Popen[str]:
    """Start a worker on source tree ``src`` with Numba cache directory ``cache``."""
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), SCENELAB_CACHE_DIR=cache)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", scenario, *([until] if until else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"worker on {src} failed to start")
    return proc


def ask(proc: subprocess.Popen[str], seed: int) -> float:
    """Return the CPU seconds of one replicate run by ``proc``."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{seed}\n")
    proc.stdin.flush()
    return float(proc.stdout.readline())


def main(argv: list[str] | None = None) -> int:
    """Time trees A and B side by side and print medians and the paired ratio."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(argv[1], argv[2] if len(argv) > 2 else None)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree_a", help="src directory of tree A (the reference)")
    parser.add_argument("tree_b", help="src directory of tree B")
    parser.add_argument("--scenario", default="bergen")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--cache-a", default="/tmp/numba-side-a")
    parser.add_argument("--cache-b", default="/tmp/numba-side-b")
    parser.add_argument(
        "--api", action="store_true", help="time scenelab.run (tables too), not the engine alone"
    )
    parser.add_argument("--until", default="2016-12-31", help="last day with --api (ISO date)")
    args = parser.parse_args(argv)
    until = args.until if args.api else None
    procs = {
        "A": start(args.tree_a, args.cache_a, args.scenario, until),
        "B": start(args.tree_b, args.cache_b, args.scenario, until),
    }
    times: dict[str, list[float]] = {"A": [], "B": []}
    for r in range(args.rounds):
        for seed in range(1, args.seeds + 1):
            for side in ("A", "B") if r % 2 == 0 else ("B", "A"):
                times[side].append(ask(procs[side], seed))
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    for side, tree in (("A", args.tree_a), ("B", args.tree_b)):
        v = times[side]
        print(f"{side} {tree}: n={len(v)} median {statistics.median(v):.3f} s, min {min(v):.3f} s")
    ratios = [b / a for a, b in zip(times["A"], times["B"], strict=True)]
    print(f"B / A: median of paired ratios {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
