"""The report's figures, one function per chart, each from the run tables and :class:`ReportInputs`.

Every figure has a title, axis titles with units and a legend. Where the tables hold several
replicates, lines are the mean over replicates and bands the central 95% of replicates
(:data:`scenelab.report.stats.BAND_LOW`..:data:`~scenelab.report.stats.BAND_HIGH`). Sites keep one
colour throughout (:func:`site_colours`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scenelab.observe.equity import harm_by_period, normalise_periods
from scenelab.observe.harm import (
    COMPONENT_LABELS,
    HARM_COMPONENTS,
    OFF_SCENE_COMPONENTS,
    HarmWeights,
    harm_by_neighbourhood_month,
)
from scenelab.report.inputs import ReportInputs
from scenelab.report.stats import replicate_column, replicate_summary

__all__ = [
    "composite_harm_figure",
    "harm_components_figure",
    "neighbourhood_harm_figure",
    "scene_size_figure",
    "site_colours",
    "survey_figure",
]

# Colour-blind-safe qualitative palette (Okabe & Ito 2008, then Tol's muted scheme).
SITE_PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#882255",
    "#117733",
    "#332288",
    "#999933",
    "#AA4499",
    "#44AA99",
    "#661100",
    "#6699CC",
)
OTHER_COLOUR = "#888888"
COMPONENT_COLOURS = {
    "violence_incidents": "#D55E00",
    "sexual_violence_incidents": "#882255",
    "overdoses": "#E69F00",
    "overdose_deaths": "#000000",
    "public_injections": "#56B4E9",
    "unsafe_injections": "#0072B2",
    "nuisance": "#999933",
    "police_controls": "#6699CC",
    "expulsions": "#332288",
    "fines": "#44AA99",
}
PERIOD_COLOURS = ("#6699CC", "#D55E00")
STRATEGY_PALETTE = ("#332288", "#D55E00", "#117733", "#CC79A7", "#E69F00", "#0072B2", "#882255")

FONT = dict(family="Helvetica Neue, Helvetica, Arial, sans-serif", size=13, color="#222")
TEMPLATE = "plotly_white"


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _base_layout(fig: go.Figure, title: str, height: int) -> None:
    """Shared look: template, font, left-aligned title; ``height`` 0 leaves it to the caller."""
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=17)),
        font=FONT,
        height=height or None,
        margin=dict(l=70, r=30, t=80, b=60),
        legend=dict(bgcolor="rgba(255,255,255,0.85)"),
    )


def site_colours(inputs: ReportInputs, extra_sites: Sequence[str] = ()) -> dict[str, str]:
    """One colour per site, in the order of ``inputs.sites``; unknown sites are grey.

    Args:
        inputs: The report inputs.
        extra_sites: Site ids found in the tables but not in ``inputs.sites``.

    Returns:
        Site id to hex colour.
    """
    colours = {sid: SITE_PALETTE[i % len(SITE_PALETTE)] for i, sid in enumerate(inputs.sites["id"])}
    for sid in extra_sites:
        colours.setdefault(sid, OTHER_COLOUR)
    return colours


def _wrap(name: str, width: int = 13) -> str:
    """Break a long label at spaces or slashes into lines of about ``width`` characters."""
    words = str(name).replace("/", "/ ").split(" ")
    lines, line = [], ""
    for word in words:
        if line and len(line) + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line}{word}" if line.endswith("/") or not line else f"{line} {word}"
    lines.append(line)
    return "<br>".join(lines)


def _short_label(name: str) -> str:
    """A map label: the name without parenthetical detail or alternative names, wrapped."""
    short = re.sub(r"\s*\(.*?\)", "", str(name)).split(" / ")[0].strip() or str(name)
    return _wrap(short, 18)


def _site_names(inputs: ReportInputs) -> dict[str, str]:
    return dict(zip(inputs.sites["id"], inputs.sites["name"], strict=True))


def _site_order(inputs: ReportInputs, present: Sequence[str]) -> list[str]:
    known = [s for s in inputs.sites["id"] if s in set(present)]
    return known + sorted(set(present) - set(known))


def _band_traces(
    x: Sequence[Any],
    low: Sequence[float],
    high: Sequence[float],
    colour: str,
    group: str,
    visible: bool | str = True,
    name: str = "95% of replicates",
    showlegend: bool = False,
) -> list[go.Scatter]:
    upper = go.Scatter(
        x=x,
        y=high,
        mode="lines",
        line=dict(width=0),
        hoverinfo="skip",
        showlegend=False,
        legendgroup=group,
        visible=visible,
    )
    lower = go.Scatter(
        x=x,
        y=low,
        mode="lines",
        line=dict(width=0),
        fill="tonexty",
        fillcolor=_rgba(colour, 0.18),
        hoverinfo="skip",
        showlegend=showlegend,
        name=name,
        legendgroup=group,
        visible=visible,
    )
    return [upper, lower]


def _subplot_axes(fig: go.Figure) -> list[tuple[str, str]]:
    """The (x-axis, y-axis) reference pairs of a figure's subplots, e.g. ``("x2", "y2")``."""
    pairs = []
    for xaxis in fig.select_xaxes():
        x = "x" + xaxis.plotly_name.removeprefix("xaxis")
        pairs.append((x, xaxis.anchor if xaxis.anchor not in (None, "free") else "y"))
    return pairs or [("x", "y")]


def _mark_interventions(
    fig: go.Figure,
    interventions: Sequence[tuple[Any, str]],
    dates: pd.Series,
    *,
    labels: bool,
) -> None:
    """Dotted vertical line per intervention date on every x-axis; rotated labels if ``labels``.

    Only interventions within the span of ``dates`` are drawn (so a short run keeps its axis).
    Interventions on the same date share one line and one label; long labels are shortened on the
    chart and shown in full on hover. The lines are layout shapes (one per date and subplot, from
    the bottom to the top of that subplot), set in one assignment: plotly's ``add_vline`` on every
    subplot costs seconds.
    """
    if len(dates) == 0:
        return
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    by_date: dict[pd.Timestamp, list[str]] = {}
    for date, label in interventions:
        when = pd.Timestamp(date)
        if first <= when <= last:
            by_date.setdefault(when, []).append(str(label))
    axes = _subplot_axes(fig)
    line = dict(color="#555", width=1, dash="dot")
    shapes = [
        dict(type="line", x0=when, x1=when, xref=x, y0=0, y1=1, yref=f"{y} domain", line=line)
        for when in sorted(by_date)
        for x, y in axes
    ]
    fig.layout.shapes = tuple(fig.layout.shapes) + tuple(shapes)
    notes = []
    for when, texts in sorted(by_date.items()):
        if labels:
            full = "; ".join(texts)
            short = full if len(full) <= 48 else full[:46].rstrip() + "…"
            notes.append(
                dict(
                    x=when,
                    y=1.0,
                    yref="paper",
                    xref="x",
                    text=short,
                    hovertext=f"{when.date()}: {full}",
                    textangle=-90,
                    xanchor="right",
                    yanchor="top",
                    showarrow=False,
                    font=dict(size=11, color="#444"),
                    bgcolor="rgba(255,255,255,0.75)",
                )
            )
    fig.layout.annotations = tuple(fig.layout.annotations) + tuple(notes)


# --- 1. Scene size by site over time ----------------------------------------------------------


def scene_size_figure(
    site_day: pd.DataFrame,
    inputs: ReportInputs,
    colours: Mapping[str, str],
    hide_below: float = 0.02,
) -> go.Figure:
    """People present per site, weekly mean, with the interventions marked.

    Args:
        site_day: The ``site_day`` table (replicates stacked).
        inputs: The report inputs (site names, interventions).
        colours: Site colours (:func:`site_colours`).
        hide_below: Sites that never hold this share of the scene in any week start hidden
            (click the legend to show them).

    Returns:
        The figure.
    """
    sd = site_day.copy()
    rep = replicate_column(sd)
    sd["week"] = sd["date"].dt.to_period("W-SUN").dt.start_time
    per_rep = sd.groupby([rep, "site", "week"])["people_present"].mean().reset_index()
    n_rep = per_rep[rep].nunique()
    summ = replicate_summary(per_rep, ["site", "week"], "people_present")
    weekly_total = summ.groupby("week")["mean"].transform("sum")
    summ["share"] = np.where(weekly_total > 0, summ["mean"] / weekly_total, 0.0)
    max_share = summ.groupby("site")["share"].max()
    names = _site_names(inputs)
    fig = go.Figure()
    for site in _site_order(inputs, list(summ["site"].unique())):
        s = summ[summ["site"] == site]
        colour = colours.get(site, OTHER_COLOUR)
        visible: bool | str = True if max_share.get(site, 0) >= hide_below else "legendonly"
        if n_rep > 1:
            fig.add_traces(_band_traces(s["week"], s["low"], s["high"], colour, site, visible))
        fig.add_trace(
            go.Scatter(
                x=s["week"],
                y=s["mean"],
                mode="lines",
                name=names.get(site, site),
                line=dict(color=colour, width=2),
                legendgroup=site,
                visible=visible,
                hovertemplate="%{y:.1f} people<extra>" + names.get(site, site) + "</extra>",
            )
        )
    band = f"; band: central 95% of {n_rep} replicates" if n_rep > 1 else ""
    _base_layout(fig, f"People present by site, weekly mean{band}", 540)
    fig.update_xaxes(title_text="Week")
    fig.update_yaxes(title_text="People present (mean over the day)", rangemode="tozero")
    fig.update_layout(hovermode="x unified", legend=dict(title=dict(text="Site")))
    _mark_interventions(fig, inputs.interventions, sd["date"], labels=True)
    return fig


# --- 2. Map of sites with displacement flows --------------------------------------------------


def _monthly_totals(
    neighbourhood_month: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, str, int]:
    nm = neighbourhood_month.copy()
    rep = replicate_column(nm)
    per_rep = nm.groupby([rep, "month"])[list(columns)].sum().reset_index()
    return per_rep, rep, int(per_rep[rep].nunique())


def harm_components_figure(
    neighbourhood_month: pd.DataFrame, inputs: ReportInputs, weights: HarmWeights | None = None
) -> go.Figure:
    """Each harm component as a monthly count (all neighbourhoods), one small panel each.

    A dashed line in a panel counts the same kind of event off the scene sites (the off-scene
    columns of ``neighbourhood_month`` that carry the component's weight).

    Args:
        neighbourhood_month: The ``neighbourhood_month`` table.
        inputs: The report inputs (interventions).
        weights: Unused for counts; accepted for a uniform signature.

    Returns:
        The figure.
    """
    del weights
    nm = neighbourhood_month.copy()
    off = {
        c: [k for k, v in OFF_SCENE_COMPONENTS.items() if v == c and k in nm]
        for c in HARM_COMPONENTS
    }
    off = {c: cols for c, cols in off.items() if cols}
    for comp, cols in off.items():
        nm[f"off_{comp}"] = nm[cols].sum(axis=1)
    per_rep, _, n_rep = _monthly_totals(nm, [*HARM_COMPONENTS, *(f"off_{c}" for c in off)])
    titles = [f"{COMPONENT_LABELS[c]}" for c in HARM_COMPONENTS]
    ncols = 2
    nrows = math.ceil(len(HARM_COMPONENTS) / ncols)
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        shared_xaxes=True,
        subplot_titles=titles,
        vertical_spacing=0.055,
        horizontal_spacing=0.08,
    )
    for i, comp in enumerate(HARM_COMPONENTS):
        r, c = i // ncols + 1, i % ncols + 1
        s = replicate_summary(per_rep, ["month"], comp)
        colour = COMPONENT_COLOURS[comp]
        if n_rep > 1:
            for t in _band_traces(
                s["month"],
                s["low"],
                s["high"],
                "#555555",
                "band",
                name=f"Central 95% of {n_rep} replicates",
                showlegend=i == 0,
            ):
                fig.add_trace(t, row=r, col=c)
        fig.add_trace(
            go.Scatter(
                x=s["month"],
                y=s["mean"],
                mode="lines",
                line=dict(color=colour, width=2),
                name=COMPONENT_LABELS[comp],
                hovertemplate="%{x|%b %Y}: %{y:.1f}<extra>" + COMPONENT_LABELS[comp] + "</extra>",
            ),
            row=r,
            col=c,
        )
        if comp in off:
            o = replicate_summary(per_rep, ["month"], f"off_{comp}")
            label = f"{COMPONENT_LABELS[comp]}, off the scene sites"
            fig.add_trace(
                go.Scatter(x=o["month"], y=o["mean"], mode="lines", name=label,
                           line=dict(color=colour, width=1.5, dash="dash"),
                           hovertemplate="%{x|%b %Y}: %{y:.1f}<extra>" + label + "</extra>"),
                row=r, col=c,
            )  # fmt: skip
        fig.update_yaxes(rangemode="tozero", row=r, col=c, title_text="per month" if c == 1 else "")
    for c in range(1, ncols + 1):
        fig.update_xaxes(title_text="Month", row=nrows, col=c)
    mean_of = f"mean of {n_rep} replicates" if n_rep > 1 else "one run"
    title = f"Harm components per month, all neighbourhoods ({mean_of}; dashed: off the sites)"
    _base_layout(fig, title, 1100)
    fig.update_layout(legend=dict(title=dict(text="Component"), orientation="v"))
    _mark_interventions(fig, inputs.interventions, per_rep["month"], labels=False)
    return fig


def composite_harm_figure(
    neighbourhood_month: pd.DataFrame, inputs: ReportInputs, weights: HarmWeights | None = None
) -> go.Figure:
    """Composite harm per month, stacked by component (harm-days), with the total's band.

    Args:
        neighbourhood_month: The ``neighbourhood_month`` table.
        inputs: The report inputs (interventions).
        weights: Harm-days per event; defaults if None.

    Returns:
        The figure.
    """
    weights = weights or HarmWeights()
    table = harm_by_neighbourhood_month(neighbourhood_month, weights)
    cols = [f"harm_{c}" for c in HARM_COMPONENTS] + ["harm", "harm_off_scene"]
    per_rep, _, n_rep = _monthly_totals(table, cols)
    fig = go.Figure()
    w = weights.as_dict()
    for comp in HARM_COMPONENTS:
        if w[comp] == 0:
            continue
        s = replicate_summary(per_rep, ["month"], f"harm_{comp}")
        fig.add_trace(
            go.Scatter(
                x=s["month"],
                y=s["mean"],
                mode="lines",
                stackgroup="harm",
                line=dict(width=0.5, color=COMPONENT_COLOURS[comp]),
                fillcolor=_rgba(COMPONENT_COLOURS[comp], 0.7),
                name=f"{COMPONENT_LABELS[comp]} (×{w[comp]:g})",
                hovertemplate="%{y:,.0f} harm-days<extra>" + COMPONENT_LABELS[comp] + "</extra>",
            )
        )
    total = replicate_summary(per_rep, ["month"], "harm")
    if n_rep > 1:
        for bound, show in (("low", True), ("high", False)):
            fig.add_trace(
                go.Scatter(
                    x=total["month"],
                    y=total[bound],
                    mode="lines",
                    line=dict(color="#555", width=1, dash="dot"),
                    name=f"Total: central 95% of {n_rep} replicates",
                    legendgroup="band",
                    showlegend=show,
                    hoverinfo="skip",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=total["month"],
            y=total["mean"],
            mode="lines",
            line=dict(color="#000", width=1.5, dash="dash"),
            name="Total composite harm",
            legendgroup="total",
            hovertemplate="%{y:,.0f} harm-days<extra>Total</extra>",
        )
    )
    off = replicate_summary(per_rep, ["month"], "harm_off_scene")
    fig.add_trace(
        go.Scatter(x=off["month"], y=off["mean"], mode="lines", name="Of which off the scene sites",
                   line=dict(color="#000", width=1.5, dash="dot"),
                   hovertemplate="%{y:,.0f} harm-days<extra>Off the scene sites</extra>")
    )  # fmt: skip
    _base_layout(fig, "Composite harm per month, stacked by component", 540)
    fig.update_xaxes(title_text="Month")
    fig.update_yaxes(title_text="Harm-days per month", rangemode="tozero")
    fig.update_layout(hovermode="x unified", legend=dict(title=dict(text="Component (weight)")))
    _mark_interventions(fig, inputs.interventions, per_rep["month"], labels=True)
    return fig


# --- 4. Harm by neighbourhood deprivation, before and after ----------------------------------


def neighbourhood_harm_figure(
    neighbourhood_month: pd.DataFrame, inputs: ReportInputs, weights: HarmWeights | None = None
) -> tuple[go.Figure, tuple[str, str]]:
    """Harm-days per month per neighbourhood, ordered by deprivation, for two periods.

    Args:
        neighbourhood_month: The ``neighbourhood_month`` table.
        inputs: The report inputs (neighbourhood names, periods, ``compare_periods``).
        weights: Harm-days per event; defaults if None.

    Returns:
        The figure and the two period labels compared.
    """
    labels = [p[0] for p in normalise_periods(inputs.periods)]
    first, second = inputs.compare_periods or (labels[0], labels[-1])
    per = harm_by_period(neighbourhood_month, inputs.periods, weights)
    rep = replicate_column(per)
    per = per[per["period"].isin([first, second])]
    summ = replicate_summary(per, ["period", "neighbourhood"], "harm_per_month")
    n_rep = int(per[rep].nunique()) if len(per) else 0
    hoods = inputs.neighbourhoods.set_index("id")
    dep = per.groupby("neighbourhood")["deprivation"].first()
    order = dep.sort_values(kind="stable").index.tolist()
    tick = [
        f"{_wrap(hoods.loc[h, 'name'] if h in hoods.index else h)}<br>({dep[h]:.2f})" for h in order
    ]
    fig = go.Figure()
    for colour, label in zip(PERIOD_COLOURS, (first, second), strict=True):
        s = summ[summ["period"] == label].set_index("neighbourhood").reindex(order)
        err = (
            dict(
                type="data",
                symmetric=False,
                array=(s["high"] - s["mean"]).to_numpy(),
                arrayminus=(s["mean"] - s["low"]).to_numpy(),
                color="#333",
                thickness=1,
                width=3,
            )
            if n_rep > 1
            else None
        )
        fig.add_trace(
            go.Bar(
                x=tick,
                y=s["mean"],
                name=label,
                marker_color=colour,
                error_y=err,
                hovertemplate="%{x}: %{y:,.0f} harm-days/month<extra>" + label + "</extra>",
            )
        )
    _base_layout(fig, f"Harm per month by neighbourhood: {first} vs {second}", 520)
    fig.update_layout(barmode="group", legend=dict(title=dict(text="Period")))
    fig.update_xaxes(title_text="Neighbourhood (deprivation index, 0 = least, 1 = most deprived)")
    fig.update_yaxes(title_text="Harm-days per month", rangemode="tozero")
    return fig, (first, second)


# --- 5. Virtual survey against the field survey ----------------------------------------------


def survey_figure(survey: pd.DataFrame) -> go.Figure:
    """Virtual-survey percentages with confidence intervals per item and group, beside the field.

    Args:
        survey: Columns ``item``, ``group``, ``n``, ``percent``, ``ci_low``, ``ci_high`` (0-100),
            optional ``field_percent``.

    Returns:
        The figure.
    """
    items = list(dict.fromkeys(survey["item"]))
    groups = list(dict.fromkeys(survey["group"]))
    step = 0.7 / max(len(groups), 1)
    fig = go.Figure()
    for gi, group in enumerate(groups):
        s = survey[survey["group"] == group].set_index("item").reindex(items)
        offset = (gi - (len(groups) - 1) / 2) * step
        fig.add_trace(
            go.Scatter(
                x=s["percent"],
                y=np.arange(len(items)) + offset,
                mode="markers",
                marker=dict(size=9, color=STRATEGY_PALETTE[gi % len(STRATEGY_PALETTE)]),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=(s["ci_high"] - s["percent"]).to_numpy(),
                    arrayminus=(s["percent"] - s["ci_low"]).to_numpy(),
                    thickness=1.5,
                    width=0,
                ),
                name=f"Model: {group}",
                customdata=np.c_[s["n"].to_numpy(), s["ci_low"], s["ci_high"]],
                text=items,
                hovertemplate=(
                    "%{text}<br>%{x:.0f}% (95% CI %{customdata[1]:.0f}–%{customdata[2]:.0f}), "
                    "n = %{customdata[0]:.0f}<extra>" + str(group) + "</extra>"
                ),
            )
        )
    if "field_percent" in survey.columns and survey["field_percent"].notna().any():
        field = survey.dropna(subset=["field_percent"]).drop_duplicates("item").set_index("item")
        field = field.reindex(items)
        fig.add_trace(
            go.Scatter(
                x=field["field_percent"],
                y=np.arange(len(items)),
                mode="markers",
                marker=dict(symbol="diamond", size=12, color="#000", line=dict(color="#fff")),
                name="Field survey",
                text=items,
                hovertemplate="%{text}<br>field: %{x:.0f}%<extra></extra>",
            )
        )
    _base_layout(fig, "Virtual survey against the field survey", max(320, 70 * len(items) + 140))
    fig.update_layout(legend=dict(title=dict(text="")))
    fig.update_xaxes(title_text="Respondents (%)", range=[0, 100])
    fig.update_yaxes(
        tickvals=list(range(len(items))), ticktext=items, autorange="reversed", title_text=""
    )
    return fig


# --- 6. Strategies compared -------------------------------------------------------------------
