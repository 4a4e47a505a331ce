"""The report's comparison of strategies: outcomes per strategy with their intervals.

Split from :mod:`scenelab.report.charts` (which holds the shared palette and layout helpers).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from scenelab.observe.equity import (
    concentration_index,
    harm_by_period,
    normalise_periods,
    share_most_deprived,
)
from scenelab.observe.harm import (
    HarmWeights,
)
from scenelab.report.charts import (
    STRATEGY_PALETTE,
    _base_layout,
)
from scenelab.report.inputs import COMPARISON_COLUMNS, ReportInputs, collect_tables
from scenelab.report.stats import (
    BAND_HIGH,
    BAND_LOW,
    replicate_column,
)

__all__ = [
    "comparison_figure",
    "costs_html",
    "diverged_series_figure",
    "strategy_outcomes",
    "verdict_brief_html",
    "verdict_html",
]


def _daily_presence(site_day: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """People present at all sites per replicate and day, over the selected rows.

    Only the columns used are copied: a row filter copies every column it keeps, text ones too.
    """
    rep = [c for c in ("run_id", "replicate") if c in site_day.columns][:1]
    sd = site_day.loc[rows, [*rep, "date", "people_present"]].copy()
    return sd.groupby([replicate_column(sd), "date"])["people_present"].sum()


def strategy_outcomes(
    comparison: pd.DataFrame | Mapping[str, Any],
    inputs: ReportInputs,
    weights: HarmWeights | None = None,
    since: dt.date | None = None,
) -> pd.DataFrame:
    """Scene size and harm per strategy and replicate.

    Args:
        comparison: Either a DataFrame with one row per strategy and replicate and columns
            ``strategy``, ``size``, ``harm`` (optional ``concentration_index``), used as is; or a
            mapping from strategy name to results or tables (as for
            :func:`scenelab.report.inputs.collect_tables`), from which per replicate: ``size`` =
            mean over days of the people present at all sites, ``harm`` = mean over months of the
            composite harm-days in all neighbourhoods, and the concentration index and
            most-deprived-fifth share of the harm summed over the window (neighbourhoods weighted
            by ``residents`` when ``inputs.neighbourhoods`` has that column). The window is
            ``inputs.evaluation_period``, else from ``since`` on, else the whole run.
        inputs: The report inputs.
        weights: Harm-days per event; defaults if None.
        since: First day of the window (the day the strategies diverge) when
            ``inputs.evaluation_period`` is None.

    Returns:
        ``strategy``, ``replicate``, ``size``, ``harm`` (+ ``concentration_index``,
        ``share_most_deprived`` when computed), in the given strategy order.

    Raises:
        ValueError: If a DataFrame lacks a required column.
    """
    if isinstance(comparison, pd.DataFrame):
        missing = [c for c in COMPARISON_COLUMNS if c not in comparison.columns]
        if missing:
            raise ValueError(
                f"comparison table is missing {missing}; required: {', '.join(COMPARISON_COLUMNS)}"
            )
        out = comparison.copy()
        if "replicate" not in out.columns:
            out["replicate"] = out.groupby("strategy").cumcount()
        return out
    all_periods = normalise_periods(inputs.periods) if inputs.periods else []
    hoods = inputs.neighbourhoods
    residents = (
        hoods.set_index("id")["residents"].astype(float) if "residents" in hoods.columns else None
    )
    rows = []
    for strategy, results in comparison.items():
        tables = collect_tables(results)
        sd = tables.site_day
        if inputs.evaluation_period is not None:
            window = next(p for p in all_periods if p[0] == inputs.evaluation_period)
        elif since is not None:
            end = sd["date"].max() + pd.Timedelta(days=1)
            window = (f"from {since}", pd.Timestamp(since), end)
        else:
            window = ("whole run", sd["date"].min(), sd["date"].max() + pd.Timedelta(days=1))
        in_window = (sd["date"] >= window[1]) & (sd["date"] < window[2])
        size = _daily_presence(sd, in_window).groupby(level=0).mean()
        per = harm_by_period(tables.neighbourhood_month, [window], weights)
        rep_nm = replicate_column(per)
        for rep, sub in per.groupby(rep_nm, sort=True):
            if rep not in size.index:
                continue
            pop = None if residents is None else residents.reindex(sub["neighbourhood"]).to_numpy()
            rows.append(
                {
                    "strategy": str(strategy),
                    "replicate": rep,
                    "size": float(size[rep]),
                    "harm": float(sub["harm"].sum() / sub["n_months"].max()),
                    "concentration_index": concentration_index(
                        sub["harm"], sub["deprivation"], pop
                    ),
                    "share_most_deprived": share_most_deprived(
                        sub["harm"], sub["deprivation"], pop
                    ),
                }
            )
    return pd.DataFrame(rows)


def _interval(values: pd.Series, mean: float, colour: str) -> dict[str, Any] | None:
    """Asymmetric error bar spanning the central 95% of replicate values (None if fewer than 2)."""
    if values.count() < 2:
        return None
    return dict(
        type="data",
        symmetric=False,
        array=[float(values.quantile(BAND_HIGH)) - mean],
        arrayminus=[mean - float(values.quantile(BAND_LOW))],
        color=colour,
        thickness=1.5,
        width=5,
    )


def comparison_figure(outcomes: pd.DataFrame) -> go.Figure:
    """Scene size against harm per strategy: mean over replicates with 95% intervals.

    Args:
        outcomes: As returned by :func:`strategy_outcomes`.

    Returns:
        The figure.
    """
    fig = go.Figure()
    strategies = list(dict.fromkeys(outcomes["strategy"]))
    for i, strategy in enumerate(strategies):
        s = outcomes[outcomes["strategy"] == strategy]
        x, y = s["size"], s["harm"]
        n = len(s)
        xm, ym = float(x.mean()), float(y.mean())
        colour = STRATEGY_PALETTE[i % len(STRATEGY_PALETTE)]
        ci = (
            f"<br>C = {s['concentration_index'].mean():.2f}"
            if "concentration_index" in s.columns and s["concentration_index"].notna().any()
            else ""
        )

        fig.add_trace(
            go.Scatter(
                x=[xm],
                y=[ym],
                mode="markers+text",
                marker=dict(size=13, color=colour, line=dict(color="#fff", width=1)),
                error_x=_interval(x, xm, colour),
                error_y=_interval(y, ym, colour),
                text=[strategy],
                textposition="top center",
                cliponaxis=False,
                name=strategy,
                hovertemplate=(
                    f"<b>{strategy}</b><br>size %{{x:.1f}} people, harm %{{y:,.0f}} "
                    f"harm-days/month<br>{n} replicate(s){ci}<extra></extra>"
                ),
            )
        )
    _base_layout(fig, "Scene size against harm, per strategy", 540)
    fig.update_xaxes(title_text="Scene size: people present per day, all sites")
    fig.update_yaxes(title_text="Harm: harm-days per month, all neighbourhoods")
    fig.update_layout(legend=dict(title=dict(text="Strategy")))
    return fig


def _esc(value: Any) -> str:
    return html.escape(str(value))


def verdict_html(verdicts: Sequence[Any]) -> str:
    """The verdicts as HTML: per strategy, its sentences and the table of paired differences.

    Args:
        verdicts: :class:`scenelab.verdict.Verdict` objects, one per compared strategy.

    Returns:
        An HTML fragment.
    """
    from scenelab.verdict_text import fmt_number

    parts = []
    for v in verdicts:
        items = "".join(f"<li>{_esc(s)}</li>" for s in v.sentences)
        rows = []
        for r in v.table.itertuples():
            lo, hi = r.ci_low, r.ci_high
            clear = math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)
            mark = " class='clear'" if clear else ""
            rows.append(
                f"<tr{mark}><td class='text'>{_esc(r.label)}</td>"
                f"<td>{fmt_number(r.reference_mean)}</td><td>{fmt_number(r.arm_mean)}</td>"
                f"<td><b>{fmt_number(r.difference)}</b> <span class='band'>"
                f"[{fmt_number(lo)}, {fmt_number(hi)}]</span></td>"
                f"<td class='text'>{_esc(r.unit)}</td></tr>"
            )
        parts.append(
            f"<h3>{_esc(v.arm)} against {_esc(v.reference)}</h3><ul class='verdict'>{items}</ul>"
            "<table><thead><tr><th class='text'>Quantity</th>"
            f"<th>{_esc(v.reference)}</th><th>{_esc(v.arm)}</th>"
            "<th>Difference [95% interval]</th><th class='text'>Unit</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(parts) + (
        "<p class='note'>Each difference is the mean over replicates of (strategy − reference), "
        "replicate i of both run with the same seed (common random numbers), over the days from "
        "the first day their schedules differ; the 95% t-interval is kept inside what the "
        "quantity can be. Bold rows' intervals leave out zero. Harm to women counts each "
        "woman's own victimisations, overdoses, deaths and enforcement over the whole run (the "
        "strategies are identical before they diverge). Costs: see the costs table.</p>"
    )


def verdict_brief_html(verdicts: Sequence[Any]) -> str:
    """The verdict in brief for the top of the page: each strategy's harm and cost sentences.

    Args:
        verdicts: :class:`scenelab.verdict.Verdict` objects.

    Returns:
        An HTML fragment linking to the full verdict section.
    """
    items = []
    for v in verdicts:
        harm = next(s for s in v.sentences if s.startswith(f"{v.arm} ") and "total harm" in s)
        cost = next((s for s in v.sentences if "the cost" in s), "")
        items.append(
            f"<li>{_esc(harm)} {_esc(cost)} <span class='note'>(from {v.since})</span></li>"
        )
    return (
        "<div class='verdict-brief'><p><strong>Verdict</strong> (each strategy against the "
        "reference, after their schedules diverge; details, intervals and every quantity in "
        f"<a href='#verdict'>section 1</a>):</p><ul>{''.join(items)}</ul></div>"
    )


def costs_html(costs: pd.DataFrame) -> str:
    """Cost per item (mean over replicates, NOK) for each strategy, and the total.

    Args:
        costs: :func:`scenelab.costs.cost_table` rows, with a ``scenario`` column when several
            strategies are stacked.

    Returns:
        An HTML table.
    """
    from scenelab.verdict_text import fmt_number

    frame = costs if "scenario" in costs.columns else costs.assign(scenario="this run")
    per_rep = frame.groupby(["scenario", "item", "replicate"], sort=False)["cost_nok"].sum()
    mean = per_rep.groupby(level=[0, 1], sort=False).mean().unstack(0)
    strategies = list(dict.fromkeys(frame["scenario"]))
    units = frame.drop_duplicates("item").set_index("item")
    head = "".join(f"<th>{_esc(s)}</th>" for s in strategies)
    rows = []
    for item in mean.index:
        u = units.loc[item]
        cells = "".join(f"<td>{fmt_number(mean.loc[item, s])}</td>" for s in strategies)
        rows.append(
            f"<tr><td class='text'>{_esc(item)}</td><td class='text'>NOK "
            f"{fmt_number(u['unit_cost_nok'])} per {_esc(u['unit'])} ({int(u['price_year'])})"
            f"</td>{cells}</tr>"
        )
    totals = "".join(f"<td><b>{fmt_number(mean[s].sum())}</b></td>" for s in strategies)
    rows.append(f"<tr><td class='text'><b>Total</b></td><td></td>{totals}</tr>")
    return (
        f"<table><thead><tr><th class='text'>Item</th><th class='text'>Unit cost (price year)"
        f"</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "<p class='note'>NOK over the whole run, mean over replicates; each unit cost in its "
        "own price year, not adjusted for inflation (sources: docs/strategy-lab.md).</p>"
    )


def diverged_series_figure(
    comparison: Mapping[str, Any], since: Any, weights: HarmWeights | None = None
) -> go.Figure:
    """Each strategy's monthly harm and scene size from the divergence on, side by side.

    Args:
        comparison: Strategy name to results (replicates).
        since: First day shown (the divergence).
        weights: Harm-days per event.

    Returns:
        A two-panel figure: harm-days per month and people present per day, mean over
        replicates with the central 95% band.
    """
    from plotly.subplots import make_subplots

    from scenelab.observe.harm import harm_by_neighbourhood_month
    from scenelab.report.stats import replicate_summary

    start = pd.Timestamp(since)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Harm-days per month (all neighbourhoods)", "People present per day"),
    )
    for i, (strategy, results) in enumerate(comparison.items()):
        colour = STRATEGY_PALETTE[i % len(STRATEGY_PALETTE)]
        tables = collect_tables(results)
        nm = harm_by_neighbourhood_month(tables.neighbourhood_month, weights)
        nm = nm[nm["month"] >= start.to_period("M").to_timestamp()]
        rep = replicate_column(nm)
        harm = nm.groupby([rep, "month"])["harm"].sum().reset_index()
        sd = tables.site_day
        size = _daily_presence(sd, sd["date"] >= start).reset_index()
        for col, (frame, x, y) in enumerate(
            ((harm, "month", "harm"), (size, "date", "people_present")), start=1
        ):
            s = replicate_summary(frame, [x], y)
            band_x = list(s[x]) + list(s[x])[::-1]
            fig.add_trace(
                go.Scatter(
                    x=band_x,
                    y=list(s["high"]) + list(s["low"])[::-1],
                    fill="toself",
                    fillcolor=colour,
                    opacity=0.15,
                    line=dict(width=0),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=strategy,
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=s[x],
                    y=s["mean"],
                    mode="lines",
                    line=dict(color=colour, width=2),
                    name=str(strategy),
                    legendgroup=strategy,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    _base_layout(fig, f"Each strategy from {start.date()}, the day they diverge", 440)
    return fig
