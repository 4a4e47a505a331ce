"""The dashboard's figures: plotly figures built from a job's :class:`Summary`.

The map reuses the report's displacement accounting
(:func:`scenelab.report.stats.displacement_flows`) and the report's palette; intervals are the
central 95% of replicates (:func:`scenelab.report.stats.replicate_summary`).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scenelab.dashboard.summary import ARM_LABELS, ARMS, WOMEN_LABELS, Summary
from scenelab.report.charts import FONT, STRATEGY_PALETTE, TEMPLATE
from scenelab.report.map import flow_arrow
from scenelab.report.stats import displacement_flows, replicate_summary

LABELS = {**WOMEN_LABELS, "total_cost": "Total cost (NOK)"}
ARM_COLOURS = {"reference": STRATEGY_PALETTE[0], "edited": STRATEGY_PALETTE[1]}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"),
        template=TEMPLATE,
        font=FONT,
        height=height,
        margin=dict(l=60, r=20, t=60, b=50),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def presence(summary: Summary, arm: str, month: pd.Timestamp) -> pd.DataFrame:
    """Mean people present per site in ``month`` (over replicates) and each site's share."""
    part = summary.monthly_site[
        (summary.monthly_site["arm"] == arm) & (summary.monthly_site["month"] == month)
    ]
    mean = part.groupby("site")["people_present"].mean()
    total = float(mean.sum())
    return pd.DataFrame(
        {
            "period": str(month.date()),
            "site": mean.index,
            "people": mean.to_numpy(),
            "share": mean.to_numpy() / total if total > 0 else 0.0,
        }
    )


def map_figure(summary: Summary, month_index: int, min_flow_share: float = 0.02) -> go.Figure:
    """Sites on longitude/latitude, sized by people present in one month; arrows: displacement.

    Arrows run from sites whose share of the scene fell since the month before to sites whose
    share rose (the report's accounting of shares, not tracked individuals). No tiles: offline.
    """
    months = summary.months
    k = max(0, min(int(month_index or 0), len(months) - 1))
    month = months[k]
    sites = summary.sites.set_index("id")
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=[ARM_LABELS[a] for a in ARMS], horizontal_spacing=0.06
    )
    lat0 = float(sites["lat"].mean())
    pad_lon = max(0.004, 0.12 * float(sites["lon"].max() - sites["lon"].min()))
    pad_lat = max(0.002, 0.12 * float(sites["lat"].max() - sites["lat"].min()))
    biggest = max(
        [float(presence(summary, a, m)["people"].max() or 0) for a in ARMS for m in months[:1]]
        + [float(summary.monthly_site["people_present"].max() or 1.0), 1e-9]
    )
    annotations = []
    for c, arm in enumerate(ARMS, start=1):
        now = presence(summary, arm, month).set_index("site")
        here = sites.join(now, how="left").fillna({"people": 0.0, "share": 0.0})
        fig.add_trace(
            go.Scatter(
                x=here["lon"],
                y=here["lat"],
                mode="markers",
                marker=dict(
                    size=here["people"],
                    sizemode="area",
                    sizeref=2.0 * biggest / 40.0**2,
                    sizemin=4,
                    color=ARM_COLOURS[arm],
                    opacity=0.75,
                    line=dict(color="white", width=1),
                ),
                text=[
                    f"{row['name']}: {row['people']:.1f} people present ({100 * row['share']:.0f}%)"
                    for _, row in here.iterrows()
                ],
                hovertemplate="%{text}<extra></extra>",
                name=ARM_LABELS[arm],
            ),
            row=1,
            col=c,
        )
        if k > 0:
            before = presence(summary, arm, months[k - 1])
            flows = displacement_flows(
                pd.concat([before, now.reset_index()], ignore_index=True), min_flow_share
            )
            ref = "" if c == 1 else "2"
            for _, f in flows.iterrows():
                a, b = sites.loc[f["from_site"]], sites.loc[f["to_site"]]
                annotations.append(
                    flow_arrow(
                        a,
                        b,
                        ref,
                        arrowwidth=1 + 8 * f["share"],
                        text="",
                        arrowcolor="rgba(40,40,40,0.6)",
                    )
                )
        fig.update_xaxes(
            range=[sites["lon"].min() - pad_lon, sites["lon"].max() + pad_lon],
            title_text="Longitude (°E)",
            row=1,
            col=c,
        )
        fig.update_yaxes(
            range=[sites["lat"].min() - pad_lat, sites["lat"].max() + pad_lat],
            title_text="Latitude (°N)" if c == 1 else None,
            scaleanchor="x" if c == 1 else "x2",
            scaleratio=1.0 / math.cos(math.radians(lat0)),
            row=1,
            col=c,
        )
    fig.layout.annotations = tuple(fig.layout.annotations) + tuple(annotations)
    title = f"People present per place, {month:%B %Y}; arrows: displacement since the month before"
    return _layout(fig, title, 480)


def map_basemap_figure(summary: Summary, month_index: int) -> go.Figure:
    """The same month on an OpenStreetMap tile basemap (used only when the machine is online)."""
    months = summary.months
    month = months[max(0, min(int(month_index or 0), len(months) - 1))]
    sites = summary.sites.set_index("id")
    fig = go.Figure()
    for arm in ARMS:
        here = sites.join(presence(summary, arm, month).set_index("site"), how="left").fillna(0)
        fig.add_trace(
            go.Scattermap(
                lat=here["lat"],
                lon=here["lon"],
                mode="markers",
                marker=dict(
                    size=4 + 2 * here["people"] ** 0.5, color=ARM_COLOURS[arm], opacity=0.6
                ),
                text=[f"{n}: {p:.1f}" for n, p in zip(here["name"], here["people"], strict=True)],
                name=ARM_LABELS[arm],
            )
        )
    fig.update_layout(
        map=dict(
            style="open-street-map",
            center=dict(lat=float(sites["lat"].mean()), lon=float(sites["lon"].mean())),
            zoom=13,
        )
    )
    return _layout(fig, f"People present per place, {month:%B %Y} (tile basemap)", 480)


def _band(fig: go.Figure, frame: pd.DataFrame, x: str, arm: str, row: int = 1) -> None:
    colour = ARM_COLOURS[arm]
    fig.add_trace(
        go.Scatter(
            x=frame[x], y=frame["high"], line=dict(width=0), showlegend=False, hoverinfo="skip"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=frame[x],
            y=frame["low"],
            line=dict(width=0),
            fill="tonexty",
            fillcolor=colour + "33",
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=frame[x], y=frame["mean"], line=dict(color=colour, width=2), name=ARM_LABELS[arm]
        )
    )


def scene_figure(summary: Summary) -> go.Figure:
    """People present at all places per day: mean and 95% band over replicates, both arms."""
    fig = go.Figure()
    for arm in ARMS:
        part = summary.scene_daily[summary.scene_daily["arm"] == arm]
        _band(fig, replicate_summary(part, ["date"], "people_present"), "date", arm)
    fig.update_yaxes(title_text="People present (daily mean)", rangemode="tozero")
    return _layout(fig, "Scene size")


def neighbourhood_figure(summary: Summary) -> go.Figure:
    """Harm per month by neighbourhood, neighbourhoods ordered by deprivation; 95% bands."""
    nb = summary.neighbourhoods.sort_values("deprivation")
    labels = {r.id: f"{r.name} ({r.deprivation:.2f})" for r in nb.itertuples()}
    fig = go.Figure()
    for arm in ARMS:
        part = summary.harm_nbhd[summary.harm_nbhd["arm"] == arm]
        s = replicate_summary(part, ["neighbourhood"], "harm_per_month").set_index("neighbourhood")
        s = s.reindex(nb["id"]).fillna(0.0)
        fig.add_trace(
            go.Bar(
                x=[labels[i] for i in s.index],
                y=s["mean"],
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=s["high"] - s["mean"],
                    arrayminus=s["mean"] - s["low"],
                ),
                name=ARM_LABELS[arm],
                marker_color=ARM_COLOURS[arm],
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="Neighbourhood (deprivation, 1 = most deprived)")
    fig.update_yaxes(title_text="Harm-days per month")
    return _layout(fig, "Harm by neighbourhood, least to most deprived", 420)


def _bars(summary: Summary, names: dict[str, str], title: str, unit: str) -> go.Figure:
    fig = go.Figure()
    for arm in ARMS:
        part = summary.outcomes[summary.outcomes["arm"] == arm]
        means, lows, highs = [], [], []
        for key in names:
            s = part[key] if key in part else pd.Series([0.0])
            means.append(float(s.mean()))
            lows.append(float(s.quantile(0.025)))
            highs.append(float(s.quantile(0.975)))
        fig.add_trace(
            go.Bar(
                x=list(names.values()),
                y=means,
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=[h - m for h, m in zip(highs, means, strict=True)],
                    arrayminus=[m - lo for m, lo in zip(means, lows, strict=True)],
                ),
                name=ARM_LABELS[arm],
                marker_color=ARM_COLOURS[arm],
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text=unit)
    return _layout(fig, title, 400)


def women_figure(summary: Summary) -> go.Figure:
    """Harm to women over the run (counts per run): mean and 95% band over replicates."""
    return _bars(summary, WOMEN_LABELS, "Harm to women (whole run)", "Count per run")


def cost_figure(summary: Summary) -> go.Figure:
    """Total cost of each run (:func:`scenelab.costs.total_cost`): mean and 95% band."""
    return _bars(summary, {"total_cost": "Total cost"}, "Cost of the whole run", "NOK")


def difference_rows(summary: Summary) -> list[dict[str, str]]:
    """The paired differences (edited - unedited) as table rows with 95% t-intervals."""
    d = summary.differences
    base = d[d["scenario"] == summary.reference].set_index("outcome")["mean"]
    rows = []
    for r in d[d["scenario"] == summary.edited].itertuples():
        rows.append(
            {
                "outcome": LABELS.get(r.outcome, r.outcome.replace("_", " ")),
                "unedited": f"{base.get(r.outcome, float('nan')):.3g}",
                "edited": f"{r.mean:.3g}",
                "difference": f"{r.diff:+.3g} [{r.diff_ci_low:+.3g}, {r.diff_ci_high:+.3g}]",
            }
        )
    return rows
