"""Summaries of a calibration's posterior: weighted quantiles and the posterior predictive check.

Pure computations on tables (no pyabc, Dask or store), so they can be tested and reused alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scenelab.experiments.ranges import ParamRange
from scenelab.experiments.spec import CalibrationSpec


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile of a weighted sample (inverse of the weighted empirical CDF, midpoint rule).

    Args:
        values: Sample.
        weights: Non-negative weights.
        q: Probability in [0, 1].

    Returns:
        The quantile.
    """
    order = np.argsort(values)
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cdf, v))


def summarize_posterior(posterior: pd.DataFrame, parameters: Sequence[ParamRange]) -> pd.DataFrame:
    """Weighted summaries of a posterior sample.

    Args:
        posterior: Particles with a ``weight`` column.
        parameters: The calibrated parameters (for prior ranges).

    Returns:
        One row per parameter.
    """
    w = posterior["weight"].to_numpy(float)
    rows = []
    for p in parameters:
        x = posterior[p.name].to_numpy(float)
        mean = float(np.average(x, weights=w))
        rows.append(
            {
                "parameter": p.name,
                "prior_low": p.low,
                "prior_high": p.high,
                "mean": mean,
                "sd": float(np.sqrt(np.average((x - mean) ** 2, weights=w))),
                "q05": weighted_quantile(x, w, 0.05),
                "q50": weighted_quantile(x, w, 0.50),
                "q95": weighted_quantile(x, w, 0.95),
            }
        )
    return pd.DataFrame(rows)


def predictive_check(predictive: pd.DataFrame, spec: CalibrationSpec) -> pd.DataFrame:
    """Where each target falls in its posterior predictive distribution.

    Args:
        predictive: Posterior predictive runs.
        spec: The calibration (targets and scales).

    Returns:
        One row per statistic.
    """
    rows = []
    for name, target in spec.targets.items():
        sims = predictive[name].dropna().to_numpy(float) if name in predictive else np.array([])
        if len(sims) == 0:
            rows.append({"statistic": name, "target": target.value, "scale": target.scale})
            continue
        q05, q95 = np.quantile(sims, [0.05, 0.95])
        rows.append(
            {
                "statistic": name,
                "target": target.value,
                "scale": target.scale,
                "n_runs": len(sims),
                "pred_mean": float(sims.mean()),
                "pred_q05": float(q05),
                "pred_q95": float(q95),
                "share_at_or_below_target": float(np.mean(sims <= target.value)),
                "target_in_90pct_interval": bool(q05 <= target.value <= q95),
            }
        )
    return pd.DataFrame(rows)
