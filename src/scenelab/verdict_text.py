"""The verdict in plain language: sentences generated from its table, never written by hand.

A difference is called a rise or a fall only when its 95% interval leaves out zero; otherwise
the sentence says "no clear difference" and still gives the estimate and interval.
"""

from __future__ import annotations

import math
from typing import Any

from scenelab.observe.harm import COMPONENT_LABELS

__all__ = ["fmt_number", "sentences"]


def fmt_number(x: float | None) -> str:
    """About three significant figures, thousands separated; ``n/a`` for a missing number."""
    if x is None or not math.isfinite(x):
        return "n/a"
    digits = 3 if x == 0 else min(3, max(0, 2 - int(math.floor(math.log10(abs(x))))))
    if round(x, digits) == 0:
        return "0"  # not "-0.000"
    return f"{x:,.{digits}f}"


def _interval(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "[no interval]"
    return f"[{fmt_number(low)}, {fmt_number(high)}]"


def _clear(low: float, high: float) -> bool:
    return math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0)


def _change(row: object, up: str, down: str, what: str) -> str:
    d, lo, hi, unit = row.difference, row.ci_low, row.ci_high, row.unit  # type: ignore[attr-defined]
    if _clear(lo, hi):
        # "lowered by 7 [5, 9]": the size of the change and its interval, in the same direction
        size = (lo, hi) if d > 0 else (-hi, -lo)
        return f"{up if d > 0 else down} {what} by {fmt_number(abs(d))} {unit} {_interval(*size)}"
    return f"made no clear difference to {what} ({fmt_number(d)} {unit} {_interval(lo, hi)})"


def _largest(values: dict[str, float], sign: float) -> tuple[str, float] | None:
    same = {k: v for k, v in values.items() if math.isfinite(v) and v * sign > 0}
    if not same:
        return None
    key = max(same, key=lambda k: abs(same[k]))
    return key, same[key]


def sentences(v: Any, detail: dict[str, dict[str, float]]) -> list[str]:
    """Plain sentences for a verdict.

    Args:
        v: The :class:`scenelab.verdict.Verdict` (its ``table`` filled).
        detail: ``components`` (mean paired difference in harm-days per month per harm
            component) and ``neighbourhoods`` (per neighbourhood name), to say where a change
            in harm fell.

    Returns:
        Sentences: the window, then total harm (the component and neighbourhood that changed
        most in the same direction), off-scene harm if it clearly changed, scene size, the most
        deprived fifth, women, cost, and cost per harm-day averted where harm clearly fell.
    """
    rows = {r.quantity: r for r in v.table.itertuples()}
    when = (
        f"from {v.since}, the first day the strategies differ"
        if v.diverged is not None and v.since == v.diverged
        else f"from {v.since}"
    )
    out = [
        f"{v.arm} against {v.reference} ({when}, to {v.until}; {v.n} paired replicate"
        f"{'s' if v.n != 1 else ''} with common random numbers)."
    ]
    harm = rows["harm"]
    text = f"{v.arm} " + _change(harm, "raised", "lowered", "total harm")
    where: list[str] = []
    if _clear(harm.ci_low, harm.ci_high):
        sign = 1.0 if harm.difference > 0 else -1.0
        comp = _largest(detail["components"], sign)
        if comp:
            share = comp[1] / harm.difference
            lead = "most of it in" if share > 0.5 else "the largest part in"
            text += (
                f", {lead} {COMPONENT_LABELS[comp[0]].lower()} ({fmt_number(abs(comp[1]))} "
                f"harm-days per month, {share:.0%} of the change)"
            )
        hood = _largest(detail["neighbourhoods"], sign)
        if hood:
            verb = "rise" if sign > 0 else "fall"
            where.append(
                f"The largest {verb} by neighbourhood was in {hood[0]} "
                f"({fmt_number(abs(hood[1]))} harm-days per month"
                + ("; others moved the other way)" if abs(hood[1]) > abs(harm.difference) else ")")
            )
    out.append(text + ".")
    out += [w + "." for w in where]
    off = rows["harm_off_scene"]
    if _clear(off.ci_low, off.ci_high):
        out.append("Off the scene sites it " + _change(off, "raised", "lowered", "harm") + ".")
    size = rows["scene_size"]
    out.append("It " + _change(size, "enlarged", "shrank", "the scene") + ".")
    dep = rows["harm_most_deprived"]
    out.append("It " + _change(dep, "raised", "lowered", "harm in the most deprived fifth") + ".")
    women = rows["harm_women"]
    out.append("It " + _change(women, "raised", "lowered", "harm to women") + ".")
    cost = rows["cost"]
    out.append("It " + _change(cost, "raised", "lowered", "the cost") + ".")
    ratio = rows["cost_per_harm_day_averted"]
    if _clear(harm.ci_low, harm.ci_high) and harm.difference < 0:
        if cost.difference <= 0:
            out.append("It averted harm and cost no more: it is better on both counts.")
        else:
            out.append(
                f"Each harm-day averted cost NOK {fmt_number(ratio.difference)} "
                f"{_interval(ratio.ci_low, ratio.ci_high)}."
            )
    elif _clear(harm.ci_low, harm.ci_high) and cost.difference >= 0:
        out.append("It raised harm and cost no less: the reference is better on both counts.")
    return out
