"""The report's comparison of strategies: outcomes per strategy with their intervals.

Split from :mod:`scenelab.report.charts` (which holds the shared palette and layout helpers).
"""

from __future__ import annotations

from collections.abc import Mapping
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

__all__ = ["comparison_figure", "strategy_outcomes"]


def strategy_outcomes(
    comparison: pd.DataFrame | Mapping[str, Any],
    inputs: ReportInputs,
    weights: HarmWeights | None = None,
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
            ``inputs.evaluation_period`` or the whole run.
        inputs: The report inputs.
        weights: Harm-days per event; defaults if None.

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
        else:
            window = ("whole run", sd["date"].min(), sd["date"].max() + pd.Timedelta(days=1))
        sd = sd[(sd["date"] >= window[1]) & (sd["date"] < window[2])].copy()
        rep_sd = replicate_column(sd)
        size = sd.groupby([rep_sd, "date"])["people_present"].sum().groupby(level=0).mean()
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
