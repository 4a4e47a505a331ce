"""Summaries over replicates and displacement flows between periods, for the report's charts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "BAND_HIGH",
    "BAND_LOW",
    "displacement_flows",
    "replicate_column",
    "replicate_summary",
    "site_period_presence",
]

#: The replicate band is the central 95% of replicate values (2.5th to 97.5th percentile, linear
#: interpolation); with few replicates this is close to the min-max range.
BAND_LOW, BAND_HIGH = 0.025, 0.975


def replicate_column(frame: pd.DataFrame) -> str:
    """Name of the column that tells replicates (runs) apart; adds a constant one if none.

    ``run_id`` is used when present (unique per run), else ``replicate``, else a column ``_rep``
    of zeros is added in place.

    Args:
        frame: A run table.

    Returns:
        The column name.
    """
    for name in ("run_id", "replicate"):
        if name in frame.columns:
            return name
    frame["_rep"] = 0
    return "_rep"


def replicate_summary(frame: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Mean and 95% band of ``value`` over replicates, per group.

    Args:
        frame: One row per replicate and group (already aggregated within each replicate).
        by: Grouping columns.
        value: The value column.

    Returns:
        ``by`` columns plus ``mean``, ``low``, ``high`` (2.5th/97.5th percentiles) and ``n``
        (replicates).
    """
    keys = list(by)
    g = frame.groupby(keys, sort=True, dropna=False)[value]
    # groupby().quantile interpolates linearly, as Series.quantile does, and skips NaN; computed
    # in one vectorised pass per bound instead of a Python call per group.
    out = pd.DataFrame(
        {
            "mean": g.mean(),
            "low": g.quantile(BAND_LOW),
            "high": g.quantile(BAND_HIGH),
            "n": g.count(),
        }
    )
    return out.reset_index()


def site_period_presence(
    site_day: pd.DataFrame, periods: Sequence[tuple[str, pd.Timestamp, pd.Timestamp]]
) -> pd.DataFrame:
    """Mean people present per site and period, averaged over replicates.

    Args:
        site_day: The ``site_day`` table.
        periods: Normalised periods ``(label, start, end)``.

    Returns:
        ``period``, ``site``, ``people`` (mean of the daily mean over days and replicates),
        ``share`` of the period's scene (people at the site / people at all sites).
    """
    rep = replicate_column(site_day)
    site_day = site_day[[rep, "site", "date", "people_present"]]  # the rest is not read
    parts = []
    for label, start, end in periods:
        sub = site_day[(site_day["date"] >= start) & (site_day["date"] < end)]
        if sub.empty:
            continue
        per_rep = sub.groupby([rep, "site"])["people_present"].mean().reset_index()
        mean = per_rep.groupby("site")["people_present"].mean()
        total = mean.sum()
        parts.append(
            pd.DataFrame(
                {
                    "period": label,
                    "site": mean.index,
                    "people": mean.to_numpy(),
                    "share": mean.to_numpy() / total if total > 0 else np.nan,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["period", "site", "people", "share"])
    return pd.concat(parts, ignore_index=True)


def displacement_flows(presence: pd.DataFrame, min_share: float = 0.0) -> pd.DataFrame:
    """Flows of the scene between consecutive periods, from changes in each site's share.

    Between two consecutive periods, sites whose share of the scene fell are sources and sites
    whose share rose are destinations. Each source sends its lost share to the destinations in
    proportion to their gains: ``flow(i -> j) = loss_i * gain_j / sum(gains)``. The flows are an
    accounting of shares, not tracked individuals; growth or shrinkage of the whole scene is not a
    flow (``people`` converts a share into people at the later period's scene size).

    Args:
        presence: ``period``, ``site``, ``people``, ``share`` (as from
            :func:`site_period_presence`), periods in chronological order of first appearance.
        min_share: Leave out flows smaller than this share (0..1).

    Returns:
        ``from_period``, ``to_period``, ``from_site``, ``to_site``, ``share`` (of the scene, 0..1)
        and ``people``, largest flows first within each pair of periods.
    """
    columns = ["from_period", "to_period", "from_site", "to_site", "share", "people"]
    labels = list(dict.fromkeys(presence["period"]))
    rows = []
    for before, after in zip(labels, labels[1:], strict=False):
        a = presence[presence["period"] == before].set_index("site")["share"]
        b = presence[presence["period"] == after].set_index("site")["share"]
        sites = a.index.union(b.index)
        delta = b.reindex(sites).fillna(0) - a.reindex(sites).fillna(0)
        gains = delta[delta > 0]
        losses = -delta[delta < 0]
        total_gain = gains.sum()
        if total_gain <= 0:
            continue
        size_after = presence.loc[presence["period"] == after, "people"].sum()
        pair = []
        for src, lost in losses.items():
            for dst, gained in gains.items():
                share = float(lost * gained / total_gain)
                if share > min_share:
                    pair.append((before, after, src, dst, share, share * size_after))
        rows.extend(sorted(pair, key=lambda r: -r[4]))
    return pd.DataFrame(rows, columns=columns)
