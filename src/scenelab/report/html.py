"""Assemble the HTML report: ``report.html`` and a shared ``plotly.min.js`` beside it, offline.

The page loads plotly.js from the file ``plotly.min.js`` in its own directory (a relative
``<script src>``, as plotly's ``include_plotlyjs="directory"``), so the page itself stays small
and needs no network; keep the two files together when copying a report.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib.metadata
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from scenelab.observe.equity import equity_by_period, normalise_periods
from scenelab.observe.harm import COMPONENT_LABELS, WEIGHT_SOURCES, HarmWeights
from scenelab.outputs import atomic_text
from scenelab.report.charts import (
    composite_harm_figure,
    harm_components_figure,
    neighbourhood_harm_figure,
    scene_size_figure,
    site_colours,
    survey_figure,
)
from scenelab.report.inputs import ReportInputs, collect_tables
from scenelab.report.map import site_map_figure
from scenelab.report.stats import BAND_HIGH, BAND_LOW, replicate_column
from scenelab.report.strategies import (
    comparison_figure,
    costs_html,
    diverged_series_figure,
    strategy_outcomes,
    verdict_brief_html,
    verdict_html,
)

__all__ = ["PLOTLY_JS", "expected_chart_ids", "write_report"]

#: File name of the plotly.js bundle that every report loads from its own directory.
PLOTLY_JS = "plotly.min.js"

PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "svg", "scale": 1},
}

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="scenelab $version">
<title>$title</title>
<script>
window.__reportErrors = [];
window.addEventListener("error", function (e) { window.__reportErrors.push(String(e.message)); });
window.addEventListener("unhandledrejection", function (e) {
  window.__reportErrors.push("unhandled rejection: " + String(e.reason));
});
</script>
<script charset="utf-8" src="$plotlyjs_src"></script>
<style>
  :root { --ink: #222; --muted: #5a5a5a; --rule: #d9d9d9; --accent: #0072B2; }
  * { box-sizing: border-box; }
  tr.clear td { font-weight: 600; } ul.verdict li { margin: 0.25em 0; }
  body { margin: 0; background: #f4f4f2; color: var(--ink);
         font: 15px/1.55 "Helvetica Neue", Helvetica, Arial, sans-serif; }
  main { max-width: 1240px; margin: 0 auto; padding: 28px 36px 60px; background: #fff; }
  header { border-bottom: 3px solid var(--ink); padding-bottom: 14px; margin-bottom: 8px; }
  h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
  h2 { font-size: 20px; margin: 36px 0 6px; padding-top: 10px; border-top: 1px solid var(--rule); }
  h2 .num { color: var(--accent); margin-right: 8px; }
  .meta { color: var(--muted); font-size: 13px; }
  .meta span { margin-right: 18px; white-space: nowrap; }
  p.lead { font-size: 16px; max-width: 78ch; }
  .verdict-brief { border-left: 4px solid var(--accent); background: #eef6fb; padding: 4px 12px;
                   margin: 12px 0; max-width: 980px; }
  .warnings { border-left: 4px solid #b8860b; background: #fff8e1; padding: 4px 12px;
              max-width: 90ch; font-size: 14px; }
  p.explain, ul.explain { max-width: 90ch; color: #333; margin: 4px 0 10px; }
  .chart { margin: 8px 0 4px; border: 1px solid #eee; }
  table { border-collapse: collapse; font-size: 13.5px; margin: 10px 0 6px; }
  th, td { padding: 5px 12px; border-bottom: 1px solid var(--rule); text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  thead th { border-bottom: 2px solid var(--ink); font-weight: 600; vertical-align: bottom; }
  td .band { color: var(--muted); font-size: 12px; }
  td.text, th.text { text-align: left; max-width: 70ch; }
  .placeholder { border: 1px dashed #aaa; background: #fafafa; padding: 18px 20px;
                 color: var(--muted); }
  .note { font-size: 13px; color: var(--muted); }
  nav ol { columns: 2; font-size: 14px; margin: 6px 0 0; padding-left: 20px; }
  nav a { color: var(--accent); text-decoration: none; }
  #report-errors { background: #fde8e8; color: #8a1111; padding: 10px 14px; white-space: pre-wrap; }
  footer { margin-top: 40px; font-size: 12.5px; color: var(--muted);
           border-top: 1px solid var(--rule); padding-top: 10px; }
</style>
</head>
<body>
<main>
<header>
<h1>$title</h1>
<div class="meta">$meta</div>
</header>
<pre id="report-errors" hidden></pre>
$notes
<p class="lead">A smaller scene can do as much harm as a big one. This report shows, for the
simulated runs, where the open drug scene was and where it went, how much harm it did, and which
neighbourhoods carried that harm. Every figure is the mean over replicates; bands and whiskers show
the spread across replicates, not measurement error.</p>
<nav><strong>Contents</strong><ol>$toc</ol></nav>
$sections
<footer>$footer</footer>
</main>
<script>
(function () {
  var errs = window.__reportErrors;
  var el = document.getElementById("report-errors");
  if (typeof Plotly === "undefined") {
    errs.unshift("$plotlyjs_src was not found beside this page: keep the report's two files "
      + "(report and $plotlyjs_src) in the same directory.");
  }
  document.body.setAttribute("data-js-errors", String(errs.length));
  if (errs.length) {
    el.hidden = false;
    el.textContent = "Some charts failed to render:\\n" + errs.join("\\n");
  }
})();
</script>
</body>
</html>
"""
)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _figure_div(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)


def _fmt(value: float, digits: int = 1, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if pct:
        return f"{100 * value:.{digits}f}%"
    return f"{value:,.{digits}f}"


def _cell(values: pd.Series, digits: int = 1, pct: bool = False) -> str:
    v = values.dropna()
    if v.empty:
        return "<td>–</td>"
    mean = _fmt(float(v.mean()), digits, pct)
    if len(v) < 2:
        return f"<td>{mean}</td>"
    lo, hi = (
        _fmt(float(v.quantile(BAND_LOW)), digits, pct),
        _fmt(float(v.quantile(BAND_HIGH)), digits, pct),
    )
    return f'<td>{mean} <span class="band">[{lo} – {hi}]</span></td>'


def _key_figures(
    site_day: pd.DataFrame, equity: pd.DataFrame, inputs: ReportInputs, n_rep: int
) -> str:
    periods = normalise_periods(inputs.periods)
    sd = site_day.copy()
    rep = replicate_column(sd)
    rows = []
    for label, start, end in periods:
        sub = sd[(sd["date"] >= start) & (sd["date"] < end)]
        size = sub.groupby([rep, "date"])["people_present"].sum().groupby(level=0).mean()
        eq = equity[equity["period"] == label]
        last = (end - pd.Timedelta(days=1)).date()
        rows.append(
            f"<tr><td>{_esc(label)}<br><span class='note'>{start.date()} – {last}</span></td>"
            + _cell(size)
            + _cell(eq["harm_per_month"], 0)
            + _cell(eq["concentration_index"], 3)
            + _cell(eq["share_most_deprived"], 1, pct=True)
            + "</tr>"
        )
    weighting = equity["weighting"].iloc[0] if len(equity) else "equal"
    weight_note = (
        "neighbourhoods weighted by residents"
        if weighting == "residents"
        else "every neighbourhood weighted equally (no resident counts given)"
    )
    band = (
        f"Brackets: central 95% of {n_rep} replicates."
        if n_rep > 1
        else "One replicate: no spread shown."
    )
    return (
        "<table><thead><tr><th>Period</th><th>People present per day<br>(all sites)</th>"
        "<th>Harm-days per month<br>(all neighbourhoods)</th><th>Concentration index<br>"
        "of harm by deprivation</th><th>Harm share of the<br>most deprived fifth</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p class='note'>{band} Concentration index: 0 = harm unrelated to deprivation, "
        "positive = harm concentrated in more deprived neighbourhoods (maximum 1 − 1/n for n "
        f"equally weighted neighbourhoods); {weight_note}. Under equality the most deprived fifth "
        "carries 20% of the harm.</p>"
    )


def _flow_table(flows: pd.DataFrame, names: Mapping[str, str], per_pair: int = 4) -> str:
    if flows.empty:
        return "<p class='note'>No displacement between periods above 1% of the scene.</p>"
    rows = []
    # chronological, the largest flows of each pair of periods first
    shown = flows.groupby(["from_period", "to_period"], sort=False).head(per_pair)
    for _, f in shown.iterrows():
        rows.append(
            f"<tr><td class='text'>{_esc(f['from_period'])} → {_esc(f['to_period'])}</td>"
            f"<td class='text'>{_esc(names.get(f['from_site'], f['from_site']))} → "
            f"{_esc(names.get(f['to_site'], f['to_site']))}</td>"
            f"<td>{100 * f['share']:.1f}</td><td>{f['people']:.0f}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Between periods</th><th class='text'>From → to</th>"
        "<th>Share of the scene<br>(percentage points)</th><th>≈ People</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _strategy_table(outcomes: pd.DataFrame) -> str:
    rows = []
    for strategy, s in outcomes.groupby("strategy", sort=False):
        cells = _cell(s["size"]) + _cell(s["harm"], 0)
        for col, digits, pct in (
            ("concentration_index", 3, False),
            ("share_most_deprived", 1, True),
        ):
            cells += _cell(s[col], digits, pct) if col in s.columns else "<td>–</td>"
        rows.append(f"<tr><td>{_esc(strategy)}</td>{cells}<td>{len(s)}</td></tr>")
    return (
        "<table><thead><tr><th>Strategy</th><th>People present per day</th>"
        "<th>Harm-days per month</th><th>Concentration index</th>"
        "<th>Harm share of the<br>most deprived fifth</th><th>Replicates</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p class='note'>Brackets: central 95% of replicates. Equity indices as in the key "
        "figures.</p>"
    )


def _weights_table(weights: HarmWeights) -> str:
    defaults = HarmWeights().as_dict()
    rows = []
    for comp, w in weights.as_dict().items():
        changed = "" if w == defaults[comp] else " (changed from default)"
        rows.append(
            f"<tr><td>{_esc(COMPONENT_LABELS[comp])}</td><td>{w:g}{changed}</td>"
            f"<td class='text'>{_esc(WEIGHT_SOURCES[comp])}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Component</th><th>Harm-days per event</th><th class='text'>Source "
        f"of the default</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _section(num: int, anchor: str, title: str, body: str) -> tuple[str, str]:
    toc = f'<li><a href="#{anchor}">{_esc(title)}</a></li>'
    heading = f'<h2><span class="num">{num}</span>{_esc(title)}</h2>'
    return toc, f'<section id="{anchor}">{heading}{body}</section>'


def _provenance(site_day: pd.DataFrame, inputs: ReportInputs, n_rep: int) -> str:
    parts = []
    scenario = inputs.scenario_name
    if scenario is None and "scenario" in site_day.columns and len(site_day):
        scenario = ", ".join(map(str, site_day["scenario"].dropna().unique()[:3]))
    if scenario:
        parts.append(f"<span>Scenario: <b>{_esc(scenario)}</b></span>")
    if "scenario_hash" in site_day.columns and len(site_day):
        hashes = site_day["scenario_hash"].dropna().unique()
        if len(hashes):
            parts.append(f"<span>Scenario hash: <code>{_esc(str(hashes[0])[:12])}</code></span>")
    if len(site_day):
        first, last = site_day["date"].min().date(), site_day["date"].max().date()
        parts.append(f"<span>Window: {first} – {last}</span>")
    parts.append(f"<span>Replicates: {n_rep}</span>")
    if "seed" in site_day.columns:
        seeds = sorted(site_day["seed"].dropna().unique().tolist())
        shown = ", ".join(map(str, seeds[:8])) + (" …" if len(seeds) > 8 else "")
        parts.append(f"<span>Seeds: {_esc(shown)}</span>")
    return "".join(parts)


def _version() -> str:
    try:
        return importlib.metadata.version("scenelab")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def write_report(
    results_or_tables: Any,
    scenario_info: ReportInputs,
    out_path: str | Path,
    comparison: pd.DataFrame | Mapping[str, Any] | None = None,
    *,
    weights: HarmWeights | None = None,
    verdicts: Sequence[Any] | None = None,
    costs: pd.DataFrame | None = None,
) -> Path:
    """Write the HTML report of a run (replicates) and, optionally, a comparison.

    Writes the page and, beside it, :data:`PLOTLY_JS` (the plotly.js bundle, about 4.8 MB,
    rewritten only if it differs), both atomically. The page loads the bundle by a relative path
    and needs no network: it opens offline in any browser while the two files stay together.

    Args:
        results_or_tables: A ``scenelab.Results``, a list of them (replicates), or a mapping with
            ``site_day`` and ``neighbourhood_month`` DataFrames (and optionally ``survey``, with
            columns ``item``, ``group``, ``n``, ``percent``, ``ci_low``, ``ci_high`` in percent and
            optional ``field_percent``).
        scenario_info: Places, neighbourhoods, interventions and periods as plain data.
        out_path: A ``.html`` file path, or a directory (``report.html`` is written inside it).
            :data:`PLOTLY_JS` is written into the same directory.
        comparison: Strategies to compare: a mapping of strategy name to results/tables, or a
            DataFrame with columns ``strategy``, ``size``, ``harm`` per replicate (see
            :func:`scenelab.report.strategies.strategy_outcomes`). The section is omitted if None.
        weights: Harm-days per event for the composite harm; defaults if None.
        verdicts: Each compared strategy's :class:`scenelab.verdict.Verdict`; shown first, with
            each strategy's series from the divergence on (needs ``comparison`` as results).
        costs: :func:`scenelab.costs.cost_table` rows (with ``scenario`` for several
            strategies); shown as a costs section.

    Returns:
        The path of the written HTML file.

    Raises:
        ValueError: If the inputs lack required columns or periods.
        TypeError: If the tables cannot be found in ``results_or_tables``.
    """
    if not scenario_info.periods:
        raise ValueError("ReportInputs.periods is empty: the report needs at least one period")
    weights = weights or HarmWeights()
    if isinstance(comparison, Mapping):
        # stack each strategy's replicates once: every section below reads them
        given = comparison
        comparison = {name: collect_tables(runs) for name, runs in given.items()}
        same = [name for name, runs in given.items() if runs is results_or_tables]
        tables = comparison[same[0]] if same else collect_tables(results_or_tables)
    else:
        tables = collect_tables(results_or_tables)
    sd, nm = tables.site_day, tables.neighbourhood_month
    n_rep = int(sd[replicate_column(sd.copy())].nunique()) if len(sd) else 0
    colours = site_colours(scenario_info, extra_sites=sorted(sd["site"].unique()))
    names = dict(zip(scenario_info.sites["id"], scenario_info.sites["name"], strict=True))
    residents = None
    if "residents" in scenario_info.neighbourhoods.columns:
        residents = scenario_info.neighbourhoods.set_index("id")["residents"]
    equity = equity_by_period(nm, scenario_info.periods, weights=weights, residents=residents)

    tocs: list[str] = []
    bodies: list[str] = []

    def add(anchor: str, title: str, body: str) -> None:
        toc, section = _section(len(bodies) + 1, anchor, title, body)
        tocs.append(toc)
        bodies.append(section)

    if verdicts:
        body = verdict_html(verdicts)
        if isinstance(comparison, Mapping):
            since = min(v.since for v in verdicts)
            body += _figure_div(
                diverged_series_figure(comparison, since, weights), "chart-verdict-series"
            )
        add("verdict", "Verdict: each strategy against the reference", body)
    if costs is not None and len(costs):
        add("costs", "What it costs", costs_html(costs))
    add(
        "key-figures",
        "Key figures by period",
        "<p class='explain'>Scene size, harm and who carries it, for each period between "
        "interventions.</p>" + _key_figures(sd, equity, scenario_info, n_rep),
    )
    add(
        "scene-size",
        "Scene size by site over time",
        "<p class='explain'>People present at each site (mean over the day, then over the week). "
        "Dotted lines mark the interventions. Sites that never held 2% of the scene start hidden: "
        "click a name in the legend to show or hide it.</p>"
        + _figure_div(scene_size_figure(sd, scenario_info, colours), "chart-scene-size"),
    )
    map_fig, _presence, flows = site_map_figure(sd, scenario_info, colours)
    add(
        "map",
        "Where the scene was, and where it went",
        "<p class='explain'>Each panel is one period; circle area is the mean number of people "
        "present. Arrows show displacement from the previous period, derived from the change in "
        "each site's share of the scene: sites that lost share send it to sites that gained, in "
        "proportion to the gains. They account for shares, not tracked individuals, and do not "
        "show the scene growing or shrinking as a whole. Plain longitude/latitude axes at true "
        "proportions; no background map.</p>"
        + _figure_div(map_fig, "chart-map")
        + _flow_table(flows, names),
    )
    add(
        "harms",
        "Harms over time",
        "<p class='explain'>Each harm component as a monthly count over all neighbourhoods, kept "
        "separate. Police controls, expulsion orders and fines are counted as a burden on the "
        "people in the scene. Dotted lines mark the interventions, as above.</p>"
        + _figure_div(harm_components_figure(nm, scenario_info), "chart-harm-components")
        + "<p class='explain'>The composite: each component weighted in harm-days (see Methods) "
        "and stacked; the dashed line is the total.</p>"
        + _figure_div(composite_harm_figure(nm, scenario_info, weights), "chart-harm-composite"),
    )
    hood_fig, (first, second) = neighbourhood_harm_figure(nm, scenario_info, weights)
    add(
        "equity",
        "Who carries the harm: neighbourhoods by deprivation",
        f"<p class='explain'>Composite harm per month hosted by each neighbourhood, from least to "
        f"most deprived, in <b>{_esc(first)}</b> and <b>{_esc(second)}</b>. Harm is counted where "
        "it happens, not where the people harmed live. The concentration index and the most "
        "deprived fifth's share for every period are in the key figures above.</p>"
        + _figure_div(hood_fig, "chart-neighbourhoods"),
    )
    if tables.survey is not None and len(tables.survey):
        survey_body = (
            "<p class='explain'>The virtual survey samples people present at scene sites "
            "(probability proportional to time present) and asks the field survey's items. "
            "Dots: model percentages with 95% confidence intervals, by group; diamonds: the field "
            "survey. Like the fieldwork, it only reaches people still in the scene.</p>"
            + _figure_div(survey_figure(tables.survey), "chart-survey")
        )
    else:
        survey_body = (
            "<div class='placeholder'>No virtual survey in these results. When the run includes a "
            "survey table (item, group, n, percent, ci_low, ci_high, field_percent), its "
            "percentages with confidence intervals appear here beside the field survey's.</div>"
        )
    add("survey", "Virtual survey against the field survey", survey_body)
    if comparison is not None:
        since = min(v.since for v in verdicts) if verdicts else None
        outcomes = strategy_outcomes(comparison, scenario_info, weights, since=since)
        window = scenario_info.evaluation_period or (
            f"the days from {since}, when the strategies diverge" if since else "the whole run"
        )
        add(
            "strategies",
            "Strategies compared: size against harm",
            f"<p class='explain'>Each strategy's mean scene size and mean harm over "
            f"{_esc(window)}, with whiskers spanning the central 95% of its replicates. A strategy "
            "that makes the scene smaller is not better unless it also lowers harm.</p>"
            + _figure_div(comparison_figure(outcomes), "chart-strategies")
            + _strategy_table(outcomes),
        )
    add(
        "methods",
        "Methods and caveats",
        "<ul class='explain'>"
        "<li><b>Harm-days.</b> The composite puts every harm in one currency: the days of "
        "imprisonment the England and Wales sentencing guidelines set as the starting point for "
        "an offence of that kind (the Cambridge Crime Harm Index; Sherman, Neyroud &amp; Neyroud "
        "2016). "
        "Harms that are not offences are put on that scale by stated judgement. Most weights are "
        "approximate; change them and the composite changes, the components do not.</li>"
        "<li><b>Concentration index.</b> C = 2·cov(h, r)/mean(h) over neighbourhoods ranked from "
        "least to most deprived (r = fractional rank); ties in deprivation share a rank.</li>"
        "<li><b>Most deprived fifth.</b> Cut at exactly 20% of the population (or of the "
        "neighbourhoods); a neighbourhood straddling the cut counts in proportion.</li>"
        "<li><b>Periods.</b> A month belongs to the period holding its midpoint.</li>"
        f"<li><b>Replicates.</b> Bands are the 2.5th–97.5th percentiles over {n_rep} replicate(s): "
        "the spread of outcomes the model produces, not a confidence interval for the mean.</li>"
        "</ul>" + _weights_table(weights),
    )

    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = f"<p class='lead'>{_esc(scenario_info.notes)}</p>" if scenario_info.notes else ""
    if verdicts:  # the verdict in brief opens the page, above notes and warnings
        notes = verdict_brief_html(verdicts) + notes
    if scenario_info.warnings:
        items = "".join(f"<li>{_esc(w)}</li>" for w in scenario_info.warnings)
        notes += (
            "<div class='warnings'><p><strong>Warnings about the scenario</strong> (valid, but "
            f"probably not meant; see <code>scenelab validate</code>):</p><ul>{items}</ul></div>"
        )
    page = _PAGE.substitute(
        title=_esc(scenario_info.title),
        version=_esc(_version()),
        plotlyjs_src=PLOTLY_JS,
        meta=_provenance(sd, scenario_info, n_rep),
        notes=notes,
        toc="".join(tocs),
        sections="\n".join(bodies),
        footer=(
            f"Generated {generated} by scenelab {_esc(_version())}. Synthetic people only: the "
            "model holds no personal data. Charts need "
            f"{PLOTLY_JS} beside this file; no network needed."
        ),
    )
    out = Path(out_path)
    if out.suffix.lower() not in (".html", ".htm"):
        out = out / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_plotlyjs(out.parent)
    atomic_text(page, out)
    return out


def _write_plotlyjs(directory: Path) -> Path:
    """Write plotly.js into ``directory`` unless an identical copy is already there."""
    path = directory / PLOTLY_JS
    js = plotly.offline.get_plotlyjs()
    if path.is_file() and path.stat().st_size == len(js.encode("utf-8")):
        if path.read_text(encoding="utf-8") == js:
            return path
    atomic_text(js, path)
    return path


def expected_chart_ids(
    has_survey: bool, has_comparison: bool, has_verdict: bool = False
) -> Sequence[str]:
    """The ids of the chart divs a report holds, for tests and callers that check rendering.

    Args:
        has_survey: Whether a survey table was given.
        has_comparison: Whether a comparison was given.
        has_verdict: Whether verdicts were given with a comparison of results.

    Returns:
        The div ids, in page order.
    """
    ids = ["chart-verdict-series"] if has_verdict else []
    ids += [
        "chart-scene-size",
        "chart-map",
        "chart-harm-components",
        "chart-harm-composite",
        "chart-neighbourhoods",
    ]
    if has_survey:
        ids.append("chart-survey")
    if has_comparison:
        ids.append("chart-strategies")
    return ids
