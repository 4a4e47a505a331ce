"""Check that two source trees give bit-identical runs: every recorded array, ``np.array_equal``.

For engine changes that must not move any output bit (issue 13's speed-ups). Each tree runs
``engine.run_model`` for a fixed set of cases in its own process (its own ``PYTHONPATH`` and Numba
cache directory) and saves every array of the run (``out``, people, sellers, site state and all
snapshots) to one ``.npz`` per case; then the two trees' files are compared array by array.

    git -C . archive <commit> | tar -x -C /tmp/main-ref
    .venv/bin/python scripts/identity_check.py /tmp/main-ref/src src

The cases: Bergen seeds 1-3; the built-in variants (1989, harm reduction, closure only, no
closure); Bergen with discovery off and ``main_scenes_known = 1`` (seeds 1 and 4); Bergen with
discovery on and the main scenes known; Bergen with one injection a day (injection's skip chain)
and with scouting at 10% an hour (every active person a candidate); Bergen with tastes that
differ between people (``sd_taste_*``, from 2026-12-03: older trees lack the parameters); the
small example city and the two example cities.
``--reuse-a`` keeps tree A's saved files from an earlier call (for a reference that does not
change).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
_OFF = {"rate_word_of_mouth_per_hour": 0.0, "rate_scout_per_hour": 0.0, "fam_forget_below": 0.0}

#: (name, scenario, seed, overrides)
CASES: list[tuple[str, str, int, dict[str, float]]] = [
    ("bergen-s1", "bergen", 1, {}),
    ("bergen-s2", "bergen", 2, {}),
    ("bergen-s3", "bergen", 3, {}),
    ("bergen-tastes-s1", "bergen", 1, {"sd_taste_conceal": 1.0, "sd_taste_footfall": 0.5}),
    ("bergen-1989-s1", "bergen-1989", 1, {}),
    ("bergen-harm-reduction-s1", "bergen-harm-reduction", 1, {}),
    ("bergen-closure-only-s2", "bergen-closure-only", 2, {}),
    ("bergen-no-closure-s3", "bergen-no-closure", 3, {}),
    ("bergen-main-known-off-s1", "bergen", 1, {"main_scenes_known": 1.0, **_OFF}),
    ("bergen-main-known-off-s4", "bergen", 4, {"main_scenes_known": 1.0, **_OFF}),
    ("bergen-main-known-s5", "bergen", 5, {"main_scenes_known": 1.0}),
    # Injection's skip chain (a chance of at most 5% an hour) and scouting by every active person
    # (above 5%): the other path of each, which Bergen's defaults do not take.
    ("bergen-inject-chain-s1", "bergen", 1, {"rate_injections_per_day": 1.0}),
    ("bergen-scout-dense-s2", "bergen", 2, {"rate_scout_per_hour": 0.1}),
    ("small-city-s1", str(ROOT / "examples" / "small_city.toml"), 1, {}),
    ("vancouver-s1", str(ROOT / "examples" / "cities" / "vancouver-2003.toml"), 1, {}),
    ("frankfurt-s1", str(ROOT / "examples" / "cities" / "frankfurt-1992.toml"), 1, {}),
]


def save_runs(out_dir: Path) -> None:
    """Run every case with the ``scenelab`` on the path and save its arrays under ``out_dir``."""
    import scenelab
    from scenelab.api import parameter_vector
    from scenelab.model import engine

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, scenario, seed, overrides in CASES:
        scn = scenelab.load_scenario(scenario)
        raw = engine.run_model(scn, parameter_vector(scn, overrides), seed=seed)
        arrays: dict[str, np.ndarray] = {}
        for group in ("people", "sellers", "sites", "out"):
            nt = getattr(raw, group)
            for field in nt._fields:
                value = getattr(nt, field)
                arrays[f"{group}.{field}"] = np.asarray(value)
        for snap, fields in raw.snapshots.items():
            for field, value in fields.items():
                arrays[f"snap.{snap}.{field}"] = np.asarray(value)
        np.savez(out_dir / f"{name}.npz", **arrays)
        print(f"{out_dir.name}: {name} saved ({len(arrays)} arrays)", flush=True)


def run_tree(src: str, out_dir: Path, cache: str) -> None:
    """Save every case's arrays with the source tree ``src`` in a separate process."""
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), SCENELAB_CACHE_DIR=cache)
    subprocess.run([sys.executable, __file__, "--save", str(out_dir)], env=env, check=True)


def compare(dir_a: Path, dir_b: Path) -> int:
    """Compare the two trees' arrays; print each case's result and return the differing count."""
    bad = 0
    total = 0
    for name, *_ in CASES:
        a, b = np.load(dir_a / f"{name}.npz"), np.load(dir_b / f"{name}.npz")
        diff = sorted(set(a.files) ^ set(b.files))
        diff += [k for k in sorted(set(a.files) & set(b.files)) if not np.array_equal(a[k], b[k])]
        total += len(a.files)
        bad += len(diff)
        print(f"{name}: {len(a.files)} arrays, {'identical' if not diff else f'DIFFER: {diff}'}")
    print(f"{total} arrays in {len(CASES)} runs, {bad} differ")
    return bad


def main(argv: list[str] | None = None) -> int:
    """Save runs with both trees and compare them."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--save"]:
        save_runs(Path(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree_a", help="src directory of tree A (the reference)")
    parser.add_argument("tree_b", help="src directory of tree B")
    parser.add_argument("--out", default="/tmp/identity-check")
    parser.add_argument("--cache-a", default="/tmp/numba-identity-a")
    parser.add_argument("--cache-b", default="/tmp/numba-identity-b")
    parser.add_argument("--reuse-a", action="store_true", help="keep tree A's saved runs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not (args.reuse_a and (out / "a").is_dir()):
        run_tree(args.tree_a, out / "a", args.cache_a)
    run_tree(args.tree_b, out / "b", args.cache_b)
    return 1 if compare(out / "a", out / "b") else 0


if __name__ == "__main__":
    sys.exit(main())
