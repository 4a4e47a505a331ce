"""Where a Bergen replicate's CPU goes, by compiled function, with Linux ``perf``.

Numba's compiled code has no symbols ``perf`` can read. After a warm-up run this script reads the
address of every function in the engine's compiled library (``engine.simulate``'s overload links
in every phase kernel) and writes them to ``/tmp/perf-<pid>.map``, the file ``perf`` reads for
JIT code; then it runs ``perf record`` on itself for a few replicates and prints ``perf report``
by symbol. ``--dump`` also saves each function's machine code, for ``objdump`` against the
samples' addresses (``perf script -F ip``).

Function addresses are only known for code compiled in this process, not for code loaded from
Numba's disk cache, so the script compiles into a fresh cache directory (about a minute).

    .venv/bin/python benchmarks/perf_profile.py --replicates 3
"""

from __future__ import annotations

import argparse
import ctypes
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


#: Larger gaps between two functions' addresses are gaps between libraries, not code.
_MAX_FUNCTION_BYTES = 1 << 20


def short_name(mangled: str) -> str:
    """Return ``module.function`` from a Numba mangled name (``_ZN8scenelab5model...``)."""
    if not mangled.startswith("_ZN"):
        return mangled
    p, parts = 3, []
    while p < len(mangled) and mangled[p].isdigit():
        q = p
        while mangled[q].isdigit():
            q += 1
        size = int(mangled[p:q])
        parts.append(mangled[q : q + size])
        p = q + size
    return ".".join(parts[-2:])


def function_table() -> list[tuple[int, str]]:
    """Return (address, mangled name) of every function in the engine's compiled library."""
    from scenelab.model import engine

    entries = []
    for cres in engine.simulate.overloads.values():
        lib = cres.library
        for fn in lib._final_module.functions:  # noqa: SLF001 - no public API for this
            if not fn.is_declaration:
                address = lib._codegen._engine.get_function_address(fn.name)  # noqa: SLF001
                if address:
                    entries.append((address, fn.name))
    return sorted(entries)


def main(argv: list[str] | None = None) -> int:
    """Profile Bergen replicates with perf and print the report by symbol."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="bergen")
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--out", default="/tmp/scenelab-perf")
    parser.add_argument("--dump", action="store_true", help="save each function's machine code")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    if os.environ.get("_SCENELAB_PERF_CHILD") is None:
        # A fresh cache, so that the functions are compiled here and their addresses known.
        with tempfile.TemporaryDirectory(prefix="numba-perf-") as cache:
            env = dict(os.environ, SCENELAB_CACHE_DIR=cache, _SCENELAB_PERF_CHILD="1")
            return subprocess.run(
                [sys.executable, __file__, *(argv or sys.argv[1:])], env=env
            ).returncode
    import scenelab
    from scenelab.api import parameter_vector
    from scenelab.model import engine

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scn = scenelab.load_scenario(args.scenario)
    par = parameter_vector(scn)
    engine.run_model(scn, par, seed=99)
    table = function_table()
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as fh:
        for k, (address, name) in enumerate(table):
            size = table[k + 1][0] - address if k + 1 < len(table) else 0x10000
            fh.write(f"{address:x} {size:x} {short_name(name)}\n")
    if args.dump:
        # The next function's address bounds a function's code only within one library: a
        # larger gap runs into the next mapping (or an unmapped page), so it is not read.
        code = {
            short_name(name): (address, ctypes.string_at(address, table[k + 1][0] - address))
            for k, (address, name) in enumerate(table[:-1])
            if table[k + 1][0] - address <= _MAX_FUNCTION_BYTES
        }
        (out / "code.pkl").write_bytes(pickle.dumps(code))
    data = out / "perf.data"
    cmd = ["perf", "record", "-q", "-F", "4000", "-o", str(data), "-p", str(os.getpid())]
    perf = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    started = time.process_time()
    for seed in range(1, args.replicates + 1):
        engine.run_model(scn, par, seed=seed)
    cpu = (time.process_time() - started) / args.replicates
    perf.send_signal(signal.SIGINT)
    perf.wait()
    print(f"{args.scenario}: {cpu:.3f} s CPU per replicate under perf; {len(table)} functions")
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "sym", "--stdio"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line for line in report.splitlines() if line.strip() and not line.startswith("#")]
    print("\n".join(rows[: args.top]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
