"""Docking scenelab against the Mesa reference: same rules, same scenario, same distributions?

Each side runs the docking variant of Bergen (:func:`benchmarks.scenarios.docking_scenario`) for
``n`` seeds. Every run is reduced to a few statistics per period between interventions: the mean
number of people present at each site, and the totals of violence, expulsions, police controls and
public injections. For each statistic the two samples are compared with a two-sided Mann-Whitney U
test and a two-sample Kolmogorov-Smirnov test; the family-wise significance level ``alpha`` is
split over all tests (Bonferroni). A statistic that is the same constant on both sides (people at a
closed site, expulsions before any expulsion policy) is reported as such and not tested.

Run ``python benchmarks/docking.py --seeds 30`` for the table; ``tests/test_docking.py`` asserts it.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from scipy import stats

import scenelab
from benchmarks.scenarios import DOCKING_SOURCE, docking_text
from scenelab.api import periods
from scenelab.scenario import Scenario, parse_text

# Totals per period compared besides people present per site.
PERIOD_TOTALS: tuple[str, ...] = (
    "violence_incidents",
    "expulsions",
    "police_controls",
    "public_injections",
)


def run_statistics(site_day: pd.DataFrame, scn: Scenario) -> dict[str, float]:
    """Reduce one run's site_day table to the docked statistics, keyed by name."""
    out: dict[str, float] = {}
    for label, first, last in periods(scn):
        days = (last - first).days + 1
        part = site_day[
            (site_day["date"] >= pd.Timestamp(first)) & (site_day["date"] <= pd.Timestamp(last))
        ]
        present = part.groupby("site")["people_present"].sum() / days
        for site in scn.site_ids():
            out[f"people_present[{site}] {label}"] = float(present.get(site, 0.0))
        for column in PERIOD_TOTALS:
            out[f"{column} {label}"] = float(part[column].sum())
    return out


def _scenelab_one(text: str, seed: int, overrides: dict[str, float] | None) -> dict[str, float]:
    scn = parse_text(text, DOCKING_SOURCE)
    return run_statistics(scenelab.run(scn, seed=seed, overrides=overrides).site_day, scn)


def _mesa_one(text: str, seed: int, overrides: dict[str, float] | None) -> dict[str, float]:
    from benchmarks.mesa_reference import run_reference

    scn = parse_text(text, DOCKING_SOURCE)
    return run_statistics(run_reference(scn, seed, overrides).site_day, scn)


def sample(
    side: str,
    scn_text: str,
    seeds: range | list[int],
    overrides: dict[str, float] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Run one side (``"scenelab"`` or ``"mesa"``) for each seed; one row of statistics per run.

    Args:
        side: Which implementation to run.
        scn_text: The scenario's TOML text (text, so worker processes can parse it).
        seeds: Run seeds.
        overrides: Parameter overrides for both implementations' parameter vector.
        workers: Processes to run in (1: in this process).

    Raises:
        ValueError: If ``side`` is not one of the two implementations.
    """
    one = {"scenelab": _scenelab_one, "mesa": _mesa_one}.get(side)
    if one is None:
        raise ValueError(f"side must be 'scenelab' or 'mesa', not {side!r}")
    seeds = list(seeds)
    if workers <= 1:
        rows = [one(scn_text, s, overrides) for s in seeds]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(one, [scn_text] * len(seeds), seeds, [overrides] * len(seeds)))
    return pd.DataFrame(rows, index=pd.Index(seeds, name="seed"))


@dataclass
class Docking:
    """The comparison of two samples of runs: one row per statistic."""

    table: pd.DataFrame
    alpha: float
    n_tests: int

    @property
    def rejected(self) -> pd.DataFrame:
        """Rows where either test rejects equal distributions at the corrected level."""
        return self.table[self.table["reject"]]

    def render(self) -> str:
        """Return the table as text, with the significance level stated."""
        per_test = self.alpha / max(self.n_tests, 1)
        head = (
            f"two-sided Mann-Whitney U and Kolmogorov-Smirnov, family-wise alpha={self.alpha:g}, "
            f"Bonferroni over {self.n_tests} tests: reject if p < {per_test:.2e}"
        )
        shown = self.table.copy()
        for col in ("p_mannwhitney", "p_ks"):
            shown[col] = shown[col].map(lambda v: "-" if np.isnan(v) else f"{v:.3f}")
        return head + "\n" + shown.to_string(float_format=lambda v: f"{v:.3f}")


def compare(a: pd.DataFrame, b: pd.DataFrame, alpha: float = 0.05) -> Docking:
    """Compare two samples of run statistics (same columns), statistic by statistic."""
    rows = []
    for name in a.columns:
        x, y = a[name].to_numpy(float), b[name].to_numpy(float)
        row = {
            "statistic": name,
            "mean_a": x.mean(),
            "mean_b": y.mean(),
            "sd_a": x.std(ddof=1),
            "sd_b": y.std(ddof=1),
        }
        if np.ptp(np.concatenate([x, y])) == 0.0:
            row.update(p_mannwhitney=np.nan, p_ks=np.nan, note="constant on both sides")
        else:
            row["p_mannwhitney"] = stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
            with warnings.catch_warnings():  # ties: scipy falls back from exact to asymptotic
                warnings.simplefilter("ignore", RuntimeWarning)
                row["p_ks"] = stats.ks_2samp(x, y).pvalue
            row["note"] = ""
        rows.append(row)
    table = pd.DataFrame(rows).set_index("statistic")
    n_tests = 2 * int(table["p_mannwhitney"].notna().sum())
    per_test = alpha / max(n_tests, 1)
    table["reject"] = (table["p_mannwhitney"] < per_test) | (table["p_ks"] < per_test)
    return Docking(table, alpha, n_tests)


def main(argv: list[str] | None = None) -> int:
    """Dock the two implementations and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="runs per side")
    parser.add_argument("--alpha", type=float, default=0.05, help="family-wise level")
    parser.add_argument("--workers", type=int, default=2, help="processes for the Mesa side")
    parser.add_argument("--start", default=None, help="window start (default: docking window)")
    parser.add_argument("--end", default=None, help="window end (default: docking window)")
    args = parser.parse_args(argv)
    kwargs = {}
    if args.start:
        kwargs["start"] = pd.Timestamp(args.start).date()
    if args.end:
        kwargs["end"] = pd.Timestamp(args.end).date()
    text = docking_text(**kwargs)
    scn = parse_text(text, DOCKING_SOURCE)
    t0 = time.perf_counter()
    ours = sample("scenelab", text, range(args.seeds))
    t1 = time.perf_counter()
    theirs = sample("mesa", text, range(args.seeds), workers=args.workers)
    t2 = time.perf_counter()
    result = compare(ours, theirs, args.alpha)
    print(f"docking window {scn.run.start}..{scn.run.end}, {args.seeds} seeds per side")
    print(f"scenelab {t1 - t0:.1f} s, Mesa reference {t2 - t1:.1f} s ({args.workers} workers)")
    print("a = scenelab, b = Mesa reference")
    print(result.render())
    print(f"rejected: {len(result.rejected)} of {result.n_tests // 2} statistics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
