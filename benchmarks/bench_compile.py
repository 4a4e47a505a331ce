"""State by value vs by reference: the engine's first compile and Bergen replicates, side by side.

The engine hands its state (``world.World``, ``state.People``, ...) to the compiled kernels as
``StructRef``s (``scenelab.model.structs.as_ref``). Before, it passed the namedtuples themselves,
which Numba passes by value: every kernel call received each array's pointer, shape and strides as
separate arguments (about 120 arrays). This benchmark runs both ways in fresh processes, each
with an empty Numba cache, alternating: "by value" replaces ``engine.as_ref`` with the identity in
its child process, so the same kernels are compiled for the namedtuples, exactly the engine before
the change. Each child compiles (the first call of ``scenelab.run``) and then runs full Bergen
replicates from its own cache. Reported: wall and CPU seconds (CPU time of the process, which a
busy machine inflates far less than wall time), medians over repeats, and the ratios.

    python benchmarks/bench_compile.py [--repeats 1] [--replicates 2] [--until 2017-12-31]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, median, table

_CHILD = r"""
import datetime as dt, json, sys, time
mode, until, replicates = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), int(sys.argv[3])
w0, c0 = time.perf_counter(), time.process_time()
import scenelab
from scenelab.model import engine
if mode == "by_value":
    engine.as_ref = lambda state: state  # the namedtuples themselves, as before structs.py
scenelab.run("bergen", seed=1, until=dt.date(2012, 1, 1), progress=False)  # compiles
marks = {"compile_wall_s": time.perf_counter() - w0, "compile_cpu_s": time.process_time() - c0}
walls, cpus = [], []
for r in range(replicates):
    w, c = time.perf_counter(), time.process_time()
    scenelab.run("bergen", seed=1, replicate=r, until=until, progress=False)
    walls.append(time.perf_counter() - w)
    cpus.append(time.process_time() - c)
marks["run_wall_s"] = sorted(walls)[len(walls) // 2]
marks["run_cpu_s"] = sorted(cpus)[len(cpus) // 2]
print("COMPILE " + json.dumps(marks))
"""

MODES = ("by_value", "by_reference")


def _child(mode: str, until: str, replicates: int) -> dict[str, float]:
    """Run one fresh process with an empty cache; return its marks."""
    with tempfile.TemporaryDirectory(prefix="scenelab-compile-") as cache:
        env = {**os.environ, "SCENELAB_CACHE_DIR": cache}
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, mode, until, str(replicates)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("COMPILE "):
            return json.loads(line[len("COMPILE ") :])
    raise RuntimeError(f"{mode} child failed:\n{proc.stderr[-3000:]}")


def measure(repeats: int = 1, replicates: int = 2, until: str = "2017-12-31") -> dict[str, Any]:
    """Compile and run both ways, alternating; return per-mode medians and the ratios."""
    seen: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for k in range(repeats):
        for mode in MODES if k % 2 == 0 else MODES[::-1]:
            seen[mode].append(_child(mode, until, replicates))
    rows = []
    for mode in MODES:
        row: dict[str, Any] = {"state": mode, "n": len(seen[mode])}
        for key in ("compile_wall_s", "compile_cpu_s", "run_wall_s", "run_cpu_s"):
            row[key] = median([m[key] for m in seen[mode]])
        rows.append(row)
    by = {r["state"]: r for r in rows}
    ratios = {
        key: by["by_value"][key] / by["by_reference"][key]
        for key in ("compile_wall_s", "compile_cpu_s", "run_wall_s", "run_cpu_s")
    }
    return {"rows": rows, "ratios": ratios, "until": until, "replicates": replicates}


def render(result: dict[str, Any]) -> str:
    """Return the result as titled tables."""
    ratio_rows = [{"figure": k, "by value / by reference": v} for k, v in result["ratios"].items()]
    return (
        f"engine compile (empty cache) and Bergen 2012-01-01..{result['until']} replicates "
        f"(median of {result['replicates']} per process)\n"
        + table(result["rows"])
        + "\n"
        + table(ratio_rows)
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1, help="processes per way (alternating)")
    ap.add_argument("--replicates", type=int, default=2, help="timed replicates per process")
    ap.add_argument("--until", default="2017-12-31", help="last simulated day of the replicates")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    print(machine())
    result = measure(args.repeats, args.replicates, args.until)
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
