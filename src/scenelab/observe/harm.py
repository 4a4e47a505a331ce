"""Harm index: harm components kept separate, plus a weighted composite in harm-days.

This module turns the model's event counts (the ``site_day`` and ``neighbourhood_month`` tables of
``docs/CONTRACT.md``) into harm. Each component stays a column of its own; the composite is a
weighted sum whose weights (:class:`HarmWeights`) are in one currency, *harm-days*: the days of
imprisonment that the England and Wales sentencing guidelines set as the starting point for an
offence of that kind, which is the currency of the Cambridge Crime Harm Index (Sherman, Neyroud &
Neyroud 2016). Harms that are not offences (an overdose death, an unsafe injection, a police
control) are put on the same scale by a stated argument, each given in the weight's docstring and
in ``docs/harm-and-equity.md``. Every weight is configurable; the defaults are a documented
starting point, not a truth, and most of them are approximate.

Harm at a scene site is attributed to the site's neighbourhood. Harm off the scene sites (public
injections, overdoses and deaths elsewhere, violence in private places: the ``city_day`` counts of
:data:`OFF_SCENE_COMPONENTS`) is priced with the same weight as the same event at a site and, in
``neighbourhood_month``, attributed to neighbourhoods in proportion to the scene's person-hours
there that month (``observe.tables.neighbourhood_month``; ``docs/harm-and-equity.md``).

No event is weighed twice: sexual violence, which the model counts as a subset of violence, is
weighed at the sexual-violence weight only (the violence weight applies to the other incidents).
Unsafe injections, a subset of public injections, carry a weight that is deliberately *added* to
the public-injection weight (documented with the weight).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd

from scenelab.model.metrics import HARM, OFF_SCENE_HARM

__all__ = [
    "COMPONENT_LABELS",
    "ENFORCEMENT_COMPONENTS",
    "HARM_COMPONENTS",
    "OFF_SCENE_COMPONENTS",
    "WEIGHT_SOURCES",
    "HarmWeights",
    "composite_harm",
    "harm_totals",
    "harm_by_neighbourhood_month",
    "harm_by_site_day",
]

#: Event-count columns (shared by ``site_day`` and ``neighbourhood_month``) that carry harm, in the
#: order the composite sums them; from the metric registry (``model.metrics``).
HARM_COMPONENTS: tuple[str, ...] = tuple(m.column for m in HARM)

#: Components that are a burden of enforcement on the people in the scene.
ENFORCEMENT_COMPONENTS: tuple[str, ...] = tuple(m.column for m in HARM if m.enforcement)

#: Off-scene harm counts (``city_day`` / ``neighbourhood_month`` columns) and the harm component
#: whose weight each carries; from the metric registry.
OFF_SCENE_COMPONENTS: dict[str, str] = {m.column: m.harm_as for m in OFF_SCENE_HARM}

#: Components weighed net of a subset counted (and weighed) as a component of its own.
_EXCLUDES: dict[str, str] = {m.column: m.harm_excludes for m in HARM if m.harm_excludes}

#: Human-readable labels, used by the report.
COMPONENT_LABELS: dict[str, str] = {m.column: m.label for m in HARM}

#: One-line source of each default weight, shown in the report's methods table.
WEIGHT_SOURCES: dict[str, str] = {m.column: m.harm_source for m in HARM}


@dataclass(frozen=True)
class HarmWeights:
    """Weights of the composite harm, in harm-days per counted event.

    One harm-day is one day of imprisonment at the sentencing-guideline starting point for a first
    offender, the unit of the Cambridge Crime Harm Index (CCHI; Sherman, Neyroud & Neyroud 2016,
    *Policing* 10(3):171-183, doi:10.1093/police/paw003). Values marked [approx] are estimates or
    judgements made for scenelab; [M] marks a figure recalled rather than read, to be verified.
    ``docs/harm-and-equity.md`` gives the full argument and alternatives. A weight of zero drops a
    component from the composite while the component itself is still reported.

    Attributes:
        violence_incidents: 182 harm-days. The starting point (26 weeks' custody) for assault
            occasioning actual bodily harm, category 2, Sentencing Council *Assault Definitive
            Guideline* (2011) [M]; the CCHI method. [approx]: the model's incidents mix injuring and
            non-injuring assaults; common assault starts at a community order, far lower, so 182 is
            an upper-middle value, chosen because violence in open scenes is often injurious and
            under-reported (Marshall et al. 2008). Applied to violent incidents other than sexual
            violence (those carry the sexual-violence weight only), and also to violence in
            private places (``private_violence``, which the model does not split by kind).
        sexual_violence_incidents: 1825 harm-days. The starting point (5 years) of the lowest
            category of rape (3B), Sentencing Council *Sexual Offences Definitive Guideline* (2014),
            the value the CCHI uses for rape. [approx]: the model does not separate rape from sexual
            assault, whose starting points are lower (about 1 year for category 2B [M]). An
            incident of sexual violence weighs 1825 in all, not 182 + 1825: the rape starting
            point already covers the violence.
        overdoses: 30 harm-days per non-fatal overdose. [approx, judgement] A disability-adjusted
            estimate: a few days at a severe disability weight for the acute episode, plus a few per
            cent risk of lasting hypoxic brain injury or other injury (Warner-Smith et al. 2001,
            *Addiction* 96:1113 [M]) at a moderate disability weight over the remaining years, one
            harm-day taken as one day of healthy life lost.
        overdose_deaths: 5475 harm-days. The CCHI weight for homicide (15 years, the minimum-term
            starting point for murder, Criminal Justice Act 2003 sch. 21). A death is a death; this
            is conservative against the years of life lost: for a death at about 40 with about 40
            years' remaining life expectancy [approx], undiscounted about 14,600 days, discounted at
            3% about 8,400 days.
        public_injections: 1 harm-day. [approx, judgement] Exposure of passers-by and residents
            (discarded syringes: 11.5/day fell to 5.4/day when public injection fell from 4.3 to
            2.4/day, Wood et al. 2004 *CMAJ* 171:731) and the absence of hygiene for the person.
        unsafe_injections: 3 harm-days, added on top of ``public_injections`` (the model counts
            unsafe injections as a subset of public ones). [approx, judgement] Rushed, unhygienic
            injection (Small et al. 2006) raises the risk of abscesses, blood-borne infection and
            overdose; the overdose itself is counted separately.
        nuisance: 0.02 harm-day per unit of the model's nuisance measure, which is person-hours
            of scene presence weighted by the site's footfall, openness and residential exposure
            (``model/mechanisms/record.py``). [approx, judgement] One such person-hour is taken as
            a hundredth of the public-order offence of causing harassment, alarm or distress,
            which starts at a band A fine (about 2 harm-days in the CCHI's conversion of fines
            [M]). Change it if the model's nuisance unit changes.
        police_controls: 0.25 harm-day. [approx, judgement] A burden on the person controlled: time
            lost, confiscation that leads to buying again (70% of those whose drugs were taken,
            Werb et al. 2008), and damaged trust (a bad contact weighs 4-14x a good one, Skogan
            2006).
        expulsions: 1 harm-day. [approx, judgement] A zone ban, usually 24 hours in Bergen; a day
            of restricted liberty that also cuts access to services and pushes use to riskier
            places (McNeil et al. 2015). Less than a day in prison, so an upper value.
        fines: 7 harm-days. [approx] The CCHI scores a fine by the days of minimum-wage work needed
            to pay it. Bergen's scene fines were NOK 10,000; at a low wage of about NOK 1,400 a day
            [M] that is about 7 days, for people who mostly have no wage at all.
    """

    violence_incidents: float = 182.0
    sexual_violence_incidents: float = 1825.0
    overdoses: float = 30.0
    overdose_deaths: float = 5475.0
    public_injections: float = 1.0
    unsafe_injections: float = 3.0
    nuisance: float = 0.02
    police_controls: float = 0.25
    expulsions: float = 1.0
    fines: float = 7.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"HarmWeights.{f.name} must be a number, got {value!r}")
            if not value >= 0.0:  # also rejects NaN
                raise ValueError(f"HarmWeights.{f.name} must be >= 0 harm-days, got {value!r}")

    def as_dict(self) -> dict[str, float]:
        """Return the weights as ``{component: harm-days per event}``, in component order."""
        return {name: float(value) for name, value in asdict(self).items()}

    def without_enforcement(self) -> HarmWeights:
        """Return a copy with the enforcement burdens (controls, expulsions, fines) set to zero."""
        return replace(self, **dict.fromkeys(ENFORCEMENT_COMPONENTS, 0.0))

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> HarmWeights:
        """Build weights from a mapping, defaults filling the missing components.

        Args:
            values: Component name to harm-days per event.

        Returns:
            The weights.

        Raises:
            ValueError: If a key is not a harm component (the message lists the valid ones).
        """
        unknown = sorted(set(values) - set(HARM_COMPONENTS))
        if unknown:
            raise ValueError(
                f"unknown harm component(s) {unknown}; valid: {', '.join(HARM_COMPONENTS)}"
            )
        return cls(**{k: float(v) for k, v in values.items()})


if tuple(f.name for f in fields(HarmWeights)) != HARM_COMPONENTS:
    raise ImportError("HarmWeights fields must be the registry's harm components, in harm order")


def _check_columns(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{table} is missing column(s) {missing}; it has: {', '.join(map(str, frame.columns))}"
        )


def _counts(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A count column as floats, missing values (NaN or ``pd.NA``) as zero."""
    series = frame[col]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iub":
        return series.to_numpy().astype(float)  # cannot hold a missing value: no check needed
    return np.nan_to_num(series.to_numpy(dtype=float, na_value=np.nan), nan=0.0)


def _weighted_parts(frame: pd.DataFrame, weights: HarmWeights) -> dict[str, np.ndarray]:
    """Harm-days per component (on- and off-scene events together) plus ``off_scene``.

    Plain arrays, not Series: the report, the verdict and the costs call this a hundred times
    per comparison, and column-by-column Series arithmetic cost ~30 ms a call.
    """
    w = weights.as_dict()
    rows = len(frame)
    cache: dict[str, np.ndarray] = {}

    def count(col: str) -> np.ndarray:
        if col not in cache:
            cache[col] = _counts(frame, col)
        return cache[col]

    parts: dict[str, np.ndarray] = {}
    off = np.zeros(rows)
    for name in HARM_COMPONENTS:
        n = count(name)
        excluded = _EXCLUDES.get(name)
        if excluded:  # the subset is weighed as its own component
            n = np.maximum(n - count(excluded), 0.0)
        n_off = np.zeros(rows)
        for col, comp in OFF_SCENE_COMPONENTS.items():
            if col in frame.columns and comp == name:
                n_off = n_off + count(col)
            elif col in frame.columns and excluded and comp == excluded:
                n_off = n_off - count(col)  # off-scene sexual violence: weighed once, there
        n_off = np.maximum(n_off, 0.0)
        parts[name] = (n + n_off) * w[name]
        parts[f"off_scene_{name}"] = n_off * w[name]
        off = off + n_off * w[name]
    parts["off_scene"] = off
    return parts


def composite_harm(frame: pd.DataFrame, weights: HarmWeights | None = None) -> pd.Series:
    """Weighted sum of the harm components of each row, in harm-days.

    Sexual violence is weighed once, at its own weight (the violence weight applies to the other
    incidents). Off-scene columns (:data:`OFF_SCENE_COMPONENTS`), where present, add their events
    at the weight of the matching component; a table without them (a ``site_day`` row) has none.

    Args:
        frame: A table holding every column in :data:`HARM_COMPONENTS` (e.g. ``site_day`` or
            ``neighbourhood_month``).
        weights: Harm-days per event; :class:`HarmWeights` defaults if None.

    Returns:
        A float Series aligned with ``frame`` (missing counts count as zero).

    Raises:
        ValueError: If a component column is missing.
    """
    return pd.Series(harm_totals(frame, weights)[0], index=frame.index)


def harm_totals(
    frame: pd.DataFrame, weights: HarmWeights | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's composite harm and its off-scene part, as arrays (harm-days).

    The same sums as :func:`composite_harm` and the ``harm`` and ``harm_off_scene`` columns of
    :func:`harm_by_neighbourhood_month`, without building a frame: a run's named outcomes need
    only these two.

    Raises:
        ValueError: If a component column is missing.
    """
    _check_columns(frame, HARM_COMPONENTS, "table")
    parts = _weighted_parts(frame, weights or HarmWeights())
    total = np.zeros(len(frame))
    for name in HARM_COMPONENTS:
        total = total + parts[name]
    return total, parts["off_scene"]


def _add_harm(frame: pd.DataFrame, weights: HarmWeights, table: str) -> pd.DataFrame:
    _check_columns(frame, HARM_COMPONENTS, table)
    parts = _weighted_parts(frame, weights)
    added = {f"harm_{name}": parts[name] for name in HARM_COMPONENTS}
    added["harm_off_scene"] = parts["off_scene"]
    enforcement = np.zeros(len(frame))
    for c in ENFORCEMENT_COMPONENTS:
        enforcement = enforcement + parts[c]
    total = np.zeros(len(frame))
    for c in HARM_COMPONENTS:
        total = total + parts[c]
    added["harm_enforcement"] = enforcement
    added["harm"] = total
    # one concat, not a column at a time: inserting ~15 columns one by one copies the frame
    kept = frame.drop(columns=[c for c in added if c in frame.columns])
    return pd.concat([kept, pd.DataFrame(added, index=frame.index)], axis=1)


def harm_by_neighbourhood_month(
    neighbourhood_month: pd.DataFrame, weights: HarmWeights | None = None
) -> pd.DataFrame:
    """Harm per neighbourhood per month: components, weighted components and composite.

    Args:
        neighbourhood_month: The ``neighbourhood_month`` table of ``docs/CONTRACT.md`` (one row per
            run, month and neighbourhood; several runs or replicates may be stacked).
        weights: Harm-days per event; :class:`HarmWeights` defaults if None.

    Returns:
        The input rows and columns plus, per component ``c``, ``harm_c`` (harm-days: the events
        at scene sites and, where the table has the off-scene columns, the same kind of events
        off the sites), then ``harm_off_scene`` (the off-scene part of the composite),
        ``harm_enforcement`` (controls + expulsions + fines) and ``harm`` (the composite, which
        includes both parts). Counts are unchanged.

    Raises:
        ValueError: If a component column or ``month``/``neighbourhood`` is missing.
    """
    _check_columns(neighbourhood_month, ("month", "neighbourhood"), "neighbourhood_month")
    return _add_harm(neighbourhood_month, weights or HarmWeights(), "neighbourhood_month")


def harm_by_site_day(site_day: pd.DataFrame, weights: HarmWeights | None = None) -> pd.DataFrame:
    """Harm per site per day: components, weighted components and composite.

    Args:
        site_day: The ``site_day`` table of ``docs/CONTRACT.md``.
        weights: Harm-days per event; :class:`HarmWeights` defaults if None.

    Returns:
        The input plus ``harm_<component>`` columns, ``harm_enforcement`` and ``harm``, as in
        :func:`harm_by_neighbourhood_month`.

    Raises:
        ValueError: If a component column or ``date``/``site`` is missing.
    """
    _check_columns(site_day, ("date", "site"), "site_day")
    return _add_harm(site_day, weights or HarmWeights(), "site_day")
