"""The HTML report: how long it takes to build and how big it is, with the old ways side by side.

Three measurements, each a median of repeats, the old and the new alternating within one run:

1. the replicate band (2.5th/97.5th percentiles per group): the old per-group Python percentile
   (``groupby().agg(lambda s: s.quantile(...))``) against :func:`replicate_summary`
   (``groupby().quantile``), on the weekly site table the scene-size chart summarises;
2. the dotted intervention lines on the ten-panel harm chart: plotly's ``add_vline`` on every
   subplot (old) against one list of layout shapes (:func:`_mark_interventions`);
3. :func:`write_report` for 1 and 10 replicates of the synthetic Bergen-like runs of the report
   tests (``tests/report/synthetic_runs.py``, 2013-01-01..2017-06-30, seven sites), and the size
   of ``report.html`` and of the shared ``plotly.min.js`` beside it (the old single file embedded
   plotly.js: its size was about the sum of the two).

    python benchmarks/bench_report.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "report"))

import os

import pandas as pd
from synthetic_runs import INTERVENTIONS, NEIGHBOURHOODS, PERIODS, SITES, make_tables

from benchmarks.common import median, table, timed
from scenelab.report import ReportInputs, write_report
from scenelab.report.charts import _mark_interventions, harm_components_figure
from scenelab.report.html import PLOTLY_JS
from scenelab.report.stats import BAND_HIGH, BAND_LOW, replicate_column, replicate_summary


def old_replicate_summary(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """The band as computed before: one Python percentile call per group and bound."""
    g = frame.groupby(list(by), sort=True, dropna=False)[value]
    return g.agg(
        mean="mean",
        low=lambda s: s.quantile(BAND_LOW),
        high=lambda s: s.quantile(BAND_HIGH),
        n="count",
    ).reset_index()


def _inputs(interventions: bool = True) -> ReportInputs:
    return ReportInputs(
        sites=SITES.copy(),
        neighbourhoods=NEIGHBOURHOODS.copy(),
        interventions=list(INTERVENTIONS) if interventions else [],
        periods=list(PERIODS),
        title="Synthetic Bergen-like report",
        scenario_name="bergen-synthetic",
    )


def _weekly(site_day: pd.DataFrame) -> pd.DataFrame:
    sd = site_day.copy()
    rep = replicate_column(sd)
    sd["week"] = sd["date"].dt.to_period("W-SUN").dt.start_time
    return sd.groupby([rep, "site", "week"])["people_present"].mean().reset_index()


def _old_lines(fig: Any, dates: pd.Series) -> None:  # noqa: ANN401 - a plotly figure
    first, last = dates.min(), dates.max()
    for date, _label in INTERVENTIONS:
        when = pd.Timestamp(date)
        if first <= when <= last:
            fig.add_vline(
                x=when, line=dict(color="#555", width=1, dash="dot"), row="all", col="all"
            )


def measure(
    replicates: tuple[int, ...] = (1, 10), repeats: int = 5, end: str = "2017-06-30"
) -> dict[str, Any]:
    """Time the old and new ways and the whole report; return rows for :func:`render`."""
    tables = {n: make_tables(replicates=n, end=end) for n in replicates}
    top = max(replicates)
    weekly = _weekly(tables[top]["site_day"])
    old_t, new_t = [], []
    for _ in range(repeats):
        t, old = timed(lambda: old_replicate_summary(weekly, ["site", "week"], "people_present"))
        old_t.append(t)
        t, new = timed(lambda: replicate_summary(weekly, ["site", "week"], "people_present"))
        new_t.append(t)
    pd.testing.assert_frame_equal(old, new)  # same numbers
    bands = {
        "groups": len(new),
        "replicates": top,
        "old_s": median(old_t),
        "new_s": median(new_t),
        "x_faster": median(old_t) / median(new_t),
    }

    nm = tables[top]["neighbourhood_month"]
    bare = harm_components_figure(nm, _inputs(interventions=False))
    months = nm["month"]
    old_t, new_t = [], []
    for _ in range(repeats):
        fig = copy.deepcopy(bare)
        old_t.append(timed(lambda fig=fig: _old_lines(fig, months))[0])
        old_shapes = fig.layout.shapes
        fig = copy.deepcopy(bare)
        new_t.append(
            timed(lambda fig=fig: _mark_interventions(fig, INTERVENTIONS, months, labels=False))[0]
        )
    assert len(old_shapes) == len(fig.layout.shapes)
    lines = {
        "shapes": len(fig.layout.shapes),
        "old_s": median(old_t),
        "new_s": median(new_t),
        "x_faster": median(old_t) / median(new_t),
    }

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        for n in replicates:
            times = []
            for k in range(repeats):
                out = Path(tmp) / f"r{n}-{k}" / "report.html"
                times.append(timed(lambda out=out, n=n: write_report(tables[n], _inputs(), out))[0])
            html_bytes = out.stat().st_size
            js_bytes = (out.parent / PLOTLY_JS).stat().st_size
            rows.append(
                {
                    "replicates": n,
                    "build_s": median(times),
                    "min_s": min(times),
                    "report_html_MB": html_bytes / 1e6,
                    "plotly_js_MB": js_bytes / 1e6,
                    "one_file_MB": (html_bytes + js_bytes) / 1e6,
                }
            )
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return {"bands": bands, "lines": lines, "rows": rows, "repeats": repeats, "load": load}


def render(result: dict[str, Any]) -> str:
    """Format the measurements as plain-text tables."""
    reps = result["repeats"]
    return "\n\n".join(
        [
            table(
                [result["bands"]],
                f"replicate band, per-group Python percentile (old) vs groupby().quantile "
                f"(new), median of {reps}",
            ),
            table(
                [result["lines"]],
                f"intervention lines on the 10-panel harm chart, add_vline per subplot (old) vs "
                f"one shapes list (new), median of {reps}",
            ),
            table(
                result["rows"],
                f"write_report, synthetic runs 2013-01..2017-06, 7 sites, median of {reps} "
                f"(load average {result['load']}); one_file = html + plotly.js",
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="toy sizes (checks that it runs)")
    args = parser.parse_args(argv)
    if args.quick:
        result = measure(replicates=(1, 2), repeats=1, end="2013-12-31")
    else:
        result = measure(repeats=args.repeats)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
