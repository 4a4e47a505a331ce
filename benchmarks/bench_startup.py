"""Start-up: how long ``scenelab run`` takes before it simulates, compiling and from the cache.

Each measurement is a fresh process running the real command line (``scenelab.cli.main(["run",
"bergen", "--until", <first day>, ...])``) with one instrument: the engine's compiled loop is
wrapped so that its first call first dispatches on an empty tick range (which compiles, or loads
the compiled code from Numba's on-disk cache, but simulates nothing) and notes the time. So
"ready" is the time from the interpreter's first line to compiled code ready to simulate, through
the same path a user's command takes, from launching the process. Columns: interpreter start-up,
imports (``scenelab.cli`` and what it pulls in), the command line and scenario set-up (parsing,
loading and compiling the scenario, creating the state), compiling or loading the engine, their
sum ("ready to simulate"), and the whole command (one simulated day, tables, summary, report).

The first process gets an empty cache directory (``SCENELAB_CACHE_DIR``), so it compiles; the
following processes share that directory, so they start from the cache.

    python benchmarks/bench_startup.py --cached 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, median, table

_CHILD = r"""
import json, sys, time
T0 = time.perf_counter()
marks = {"interpreter": time.time() - float(sys.argv[3])}
from scenelab.model import engine
original = engine.simulate

def first_call_marks(t0, t1, *args):
    if "ready" not in marks:
        marks.setdefault("entered", time.perf_counter() - T0)
        original(t0, t0, *args)  # an empty range: compile or load the cache, simulate nothing
        marks["ready"] = time.perf_counter() - T0
    return original(t0, t1, *args)

engine.simulate = first_call_marks
original_warm = engine.compile_engine

def warm_marks(simulate, src):
    # On a cold cache the kernels compile here, in two processes (``model.warmup``).
    marks["entered"] = time.perf_counter() - T0
    original_warm(original, src)

engine.compile_engine = warm_marks
from scenelab.cli import main
marks["imported"] = time.perf_counter() - T0
rc = main(["run", "bergen", "--until", sys.argv[2], "--out", sys.argv[1], "--quiet",
           "--replicates", "1"])
marks["done"] = time.perf_counter() - T0
marks["rc"] = rc
print("STARTUP " + json.dumps(marks))
"""


def one_process(
    cache_dir: str | None,
    out_dir: str,
    extra_env: dict[str, str] | None = None,
    until: str = "2012-01-01",
) -> dict[str, float]:
    """Run ``scenelab run`` once in a fresh process; return its timing marks in seconds.

    ``cache_dir`` None keeps the user's own cache settings.
    """
    env = {**os.environ, **(extra_env or {})}
    if cache_dir is not None:
        env.pop("NUMBA_CACHE_DIR", None)
        env["SCENELAB_CACHE_DIR"] = cache_dir
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, out_dir, until, repr(time.time())],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    wall = time.perf_counter() - started
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("STARTUP ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"start-up probe failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    marks = json.loads(lines[-1][len("STARTUP ") :])
    marks["process_wall"] = wall
    return marks


def measure(cached: int = 3, cold: int = 1, serial: bool = False) -> dict[str, Any]:
    """Time ``cold`` compiling starts (each with a new cache) and ``cached`` starts from it.

    With ``serial``, each compiling start is paired with one that compiles in one process
    (``SCENELAB_PARALLEL_COMPILE=0``), alternating which goes first, so the two ways of the first
    compile are measured side by side under the same load.
    With ``cold`` 0 the cached starts use the user's own cache (filled by an untimed run first).
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="scenelab-startup-") as tmp:
        for k in range(cold):
            kinds = [("first (compiles)", "1")]
            if serial:
                kinds.append(("first, one process", "0"))
                kinds = kinds[::-1] if k % 2 else kinds
            for kind, flag in kinds:
                cache = os.path.join(tmp, f"cache{k}{flag}")
                env = {"SCENELAB_PARALLEL_COMPILE": flag}
                marks = one_process(cache, f"{tmp}/out{k}{flag}", env)
                rows.append({"start": kind, **marks})
        cache: str | None = os.path.join(tmp, "cache01")
        if cold == 0:
            cache = None
            one_process(cache, f"{tmp}/warm")  # make sure the cache is filled, untimed
        for k in range(cached):
            rows.append({"start": "cached", **one_process(cache, f"{tmp}/cached{k}")})
    summary = []
    for kind in ("first (compiles)", "first, one process", "cached"):
        part = [r for r in rows if r["start"] == kind]
        if not part:
            continue
        summary.append(
            {
                "start": kind,
                "n": len(part),
                "interpreter_s": median([r["interpreter"] for r in part]),
                "imports_s": median([r["imported"] for r in part]),
                "cli_and_scenario_s": median([r["entered"] - r["imported"] for r in part]),
                "compile_or_load_s": median([r["ready"] - r["entered"] for r in part]),
                "ready_to_simulate_s": median([r["interpreter"] + r["ready"] for r in part]),
                "whole_command_s": median([r["process_wall"] for r in part]),
            }
        )
    return {"rows": summary}


def render(result: dict[str, Any]) -> str:
    """Return the start-up table."""
    return table(
        result["rows"],
        "start-up of `scenelab run bergen --until 2012-01-01` in a fresh process; medians",
    )


def main(argv: list[str] | None = None) -> int:
    """Measure start-up and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=1, help="compiling starts (each ~minutes)")
    parser.add_argument("--cached", type=int, default=3, help="starts from the cache")
    parser.add_argument(
        "--serial",
        action="store_true",
        help="also time each compiling start with the compile in one process (side by side)",
    )
    args = parser.parse_args(argv)
    print(machine())
    print(render(measure(args.cached, args.cold, args.serial)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
