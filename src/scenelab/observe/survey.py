"""The virtual survey: re-run the Bergen researchers' instrument on the synthetic people.

Recruitment follows fieldwork: interviews are spread over the survey window (each person has an
interview day, ``model.interviews``) and people are found *in the scenes*, so a person in the scene
population on their interview day is included with probability proportional to their hours present
at scene sites in the 30 days before it (Poisson sampling, pi_i = min(1, n x h_i / sum h), so the
expected sample size is the target n). People the services moved out of the scene are seldom found:
the fieldwork's selection bias is reproduced, not hidden.

Each respondent answers from their own history up to their interview day (the engine copies their
state at the start of that day, 30 days and 365 days before it, and at the survey's reference date
and a year before it). The question each item mimics is in ``docs/harm-and-equity.md`` (section
"The virtual survey"); the rules:

- ``trust_low``: trust in the police below 0.4 (0-1 scale) on the interview day.
- ``police_safety_effort_low``: rates the police's safety-creating effort low: trust below 0.5
  and either more bad than good police contacts in the last 12 months or a victimisation in the
  last 30 days.
- ``respect_low``: treated respectfully by the police "to a small degree": among people with a
  police contact in the last 12 months, most of their own contacts (whose chance of being bad
  depends on the police mode where they happened) were bad.
- ``victim_last_month``: victim of violence (any setting) in the 30 days before the interview.
- ``witness_last_month``: saw violence in the 30 days before the interview (an incident at a site
  within their sight, ``violence.p_in_sight``).
- ``last_victimisation_public``: among people ever victimised, the last time was in public (a scene
  site or the street), not in a home or a shelter.
- ``sexual_violence_ever``: ever subjected to sexual violence in the milieu.
- ``help_less_than_needed``: among people with a need on the interview day (unhoused, or using
  opioids and not in OAT), help from a service on fewer than half of the days they spent at the
  scene with that need in the last 30 days.
- ``help_not_easier``: disagrees that help got easier after the reference date: neither housed
  nor entered OAT since then, and the share of needed days with help at the scene between the
  reference date and the interview is not higher than in the year before the reference date.
- ``health_not_improved``: disagrees that health and life situation improved since the reference
  date: counting housing gained (+1) or lost (-1), OAT entered (+1) or left (-1), and harms
  (victimisations and overdoses) in the last 12 months fewer (+1) or more (-1) than in the 12
  months before the reference date, the total is not positive.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

from scenelab.model.state import OAT_IN

ITEMS: tuple[str, ...] = (
    "trust_low",
    "police_safety_effort_low",
    "respect_low",
    "victim_last_month",
    "witness_last_month",
    "last_victimisation_public",
    "sexual_violence_ever",
    "help_less_than_needed",
    "help_not_easier",
    "health_not_improved",
)
GROUPS: tuple[str, ...] = (
    "all",
    "women",
    "men",
    "police_contact_low",
    "police_contact_mid",
    "police_contact_high",
)


def survey_generator(seed: int, replicate: int) -> np.random.Generator:
    """Return the survey's own random stream for a run (common random numbers across arms)."""
    digest = hashlib.blake2b(f"{seed}/{replicate}/survey".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def recruit(hours: np.ndarray, target_n: int, rng: np.random.Generator) -> np.ndarray:
    """Return the indices recruited by Poisson sampling proportional to hours present."""
    total = float(hours.sum())
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    pi = np.minimum(1.0, target_n * hours / total)
    return np.flatnonzero(rng.random(hours.size) < pi)


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Return the Wilson 95% interval of a proportion k/n, in percent."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    # Clamp so rounding never puts the estimate outside its own interval (k = 0 or k = n).
    return (min(100 * (centre - half), 100 * p), max(100 * (centre + half), 100 * p))


def _get(snap: dict[str, np.ndarray] | None, name: str, n: int, fill: float = 0) -> np.ndarray:
    """Return a snapshot's column padded to ``n`` people (slots not used then get ``fill``)."""
    if snap is None:
        return np.full(n, fill)
    col = snap[name]
    return np.concatenate([col, np.full(max(0, n - col.size), fill, dtype=col.dtype)])[:n]


def _share(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    return k / np.maximum(n, 1)


def item_answers(
    snaps: dict[str, dict[str, np.ndarray]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return, per item, (answered mask, yes mask) over every person slot, as of their interview.

    Args:
        snaps: The run's snapshots: ``interview`` (each person on their interview day, with its
            run day index ``day``), ``interview_month`` and ``interview_year`` (30 and 365 days
            before it), and, with a reference date, ``intervention`` and ``intervention_year``.
    """
    iv = snaps["interview"]
    n = iv["trust"].size
    everyone = np.ones(n, dtype=bool)

    def now(name: str) -> np.ndarray:
        return iv[name]

    def month(name: str) -> np.ndarray:
        return _get(snaps.get("interview_month"), name, n)

    def year(name: str) -> np.ndarray:
        return _get(snaps.get("interview_year"), name, n)

    month_start = (iv["day"].astype(np.int64) - 30) * 24
    victim_month = now("victim_tick") >= month_start
    bad = now("n_bad_contacts") - year("n_bad_contacts")
    good = now("n_good_contacts") - year("n_good_contacts")
    need_now = (now("housed") == 0) | ((now("substance") != 1) & (now("oat") != OAT_IN))
    need_days = now("days_needing_help") - month("days_needing_help")
    helped_days = now("days_helped") - month("days_helped")
    answers = {
        "trust_low": (everyone, now("trust") < 0.4),
        "police_safety_effort_low": (
            everyone,
            (now("trust") < 0.5) & ((bad > good) | victim_month),
        ),
        "respect_low": (bad + good > 0, bad > good),
        "victim_last_month": (everyone, victim_month),
        "witness_last_month": (everyone, now("witness_tick") >= month_start),
        "last_victimisation_public": (now("victim_tick") >= 0, now("victim_public") == 1),
        "sexual_violence_ever": (everyone, now("sexual_ever") == 1),
        "help_less_than_needed": (
            need_now & (need_days > 0),
            2 * helped_days < need_days,
        ),
    }
    ref = snaps.get("intervention")
    if ref is None:
        none = np.zeros(n, dtype=bool)
        answers["help_not_easier"] = (none, none)
        answers["health_not_improved"] = (none, none)
        return answers

    def was(name: str) -> np.ndarray:
        return _get(ref, name, n)

    def was_year(name: str) -> np.ndarray:
        return _get(snaps.get("intervention_year"), name, n)

    need_before = was("days_needing_help") - was_year("days_needing_help")
    helped_before = was("days_helped") - was_year("days_helped")
    need_after = now("days_needing_help") - was("days_needing_help")
    helped_after = now("days_helped") - was("days_helped")
    housed_now, housed_then = now("housed") == 1, was("housed") == 1
    oat_now, oat_then = now("oat") == OAT_IN, was("oat") == OAT_IN
    easier = (
        (_share(helped_after, need_after) > _share(helped_before, need_before))
        | (housed_now & ~housed_then)
        | (oat_now & ~oat_then)
    )
    answers["help_not_easier"] = ((need_before > 0) & (need_after > 0), ~easier)
    harms_before = (was("n_victim") + was("n_overdoses")) - (
        was_year("n_victim") + was_year("n_overdoses")
    )
    harms_year = (now("n_victim") + now("n_overdoses")) - (year("n_victim") + year("n_overdoses"))
    score = (
        (housed_now & ~housed_then).astype(int)
        - (housed_then & ~housed_now)
        + (oat_now & ~oat_then)
        - (oat_then & ~oat_now)
        + np.sign(harms_before - harms_year)
    )
    answers["health_not_improved"] = (was("status") == 1, score <= 0)
    return answers


def run_survey(
    snaps: dict[str, dict[str, np.ndarray]],
    target_n: int,
    rng: np.random.Generator,
    field_percent: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Recruit a sample and tabulate every item by group.

    Args:
        snaps: The run's snapshots (see :func:`item_answers`).
        target_n: Expected sample size.
        rng: The survey's own random stream (:func:`survey_generator`).
        field_percent: The real survey's figures, per item, shown beside the ``all`` rows.

    Returns:
        The survey table (item, group, n, percent, ci_low, ci_high, field_percent) and the
        indices of the people recruited.
    """
    iv = snaps["interview"]
    month = snaps.get("interview_month")
    hours_month = iv["hours_present"] - _get(month, "hours_present", iv["trust"].size)
    hours = np.where(iv["status"] == 1, hours_month, 0).astype(float)
    sample = recruit(hours, target_n, rng)
    answers = item_answers(snaps)
    controls = iv["n_controls"][sample]
    ranks = pd.Series(controls).rank(method="first").to_numpy()
    tertile = np.ceil(3 * ranks / max(len(sample), 1)).astype(int) if len(sample) else ranks
    members = {
        "all": np.ones(len(sample), dtype=bool),
        "women": iv["sex"][sample] == 1,
        "men": iv["sex"][sample] == 0,
        "police_contact_low": tertile == 1,
        "police_contact_mid": tertile == 2,
        "police_contact_high": tertile == 3,
    }
    rows = []
    for item in ITEMS:
        answered, yes = answers[item]
        for group in GROUPS:
            mask = members[group] & answered[sample]
            n = int(mask.sum())
            k = int((mask & yes[sample]).sum())
            low, high = wilson(k, n)
            rows.append(
                {
                    "item": item,
                    "group": group,
                    "n": n,
                    "percent": 100.0 * k / n if n else math.nan,
                    "ci_low": low,
                    "ci_high": high,
                    "field_percent": (field_percent or {}).get(item, math.nan)
                    if group == "all"
                    else math.nan,
                }
            )
    return pd.DataFrame(rows), sample
