"""The virtual survey: re-run the Bergen researchers' instrument on the synthetic people.

Recruitment follows fieldwork: people are found *in the scenes*, so each person is included with
probability proportional to their hours present at scene sites during the survey window (Poisson
sampling, pi_i = min(1, n x h_i / sum h), so the expected sample size is the target n). People the
services moved out of the scene are seldom found: the fieldwork's selection bias is reproduced, not
hidden.

Measurement rules (agent state at the end of the window; "last month" = the window's last 30 days):

- ``trust_low``: trust in the police below 0.4 on the 0-1 scale.
- ``police_safety_effort_low``: rates the police's safety-creating effort low: trust below 0.5
  and either more bad than good police contacts or a victimisation in the last month.
- ``respect_low``: treated respectfully "to a small degree": among people with a police contact,
  at least half of their contacts were experienced as bad.
- ``victim_last_month``: victim of violence in the last month.
- ``witness_last_month``: witnessed violence in the last month.
- ``last_victimisation_public``: among people ever victimised, the last time was at a scene site.
- ``sexual_violence_ever``: ever subjected to sexual violence in the milieu.
- ``help_less_than_needed``: among people who needed help (days at the scene unhoused or untreated),
  helped on fewer than half of those days.
- ``help_not_easier``: disagrees that help got easier after the intervention: the share of needed
  days with help since the intervention is not higher than before it.
- ``health_not_improved``: disagrees that health and life situation improved since the
  intervention: neither housed nor started OAT since, or an overdose or victimisation since.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

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
MONTH_TICKS = 30 * 24


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


def item_answers(
    end: dict[str, np.ndarray], before: dict[str, np.ndarray] | None, t_end: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return, per item, (answered mask, yes mask) over all people in the ``end`` snapshot."""
    n = end["trust"].size
    everyone = np.ones(n, dtype=bool)
    last_month = t_end - MONTH_TICKS
    victim_recent = end["victim_tick"] >= last_month
    contacts = end["n_bad_contacts"] + end["n_good_contacts"]
    answers = {
        "trust_low": (everyone, end["trust"] < 0.4),
        "police_safety_effort_low": (
            everyone,
            (end["trust"] < 0.5)
            & ((end["n_bad_contacts"] > end["n_good_contacts"]) | victim_recent),
        ),
        "respect_low": (contacts > 0, 2 * end["n_bad_contacts"] >= np.maximum(contacts, 1)),
        "victim_last_month": (everyone, victim_recent),
        "witness_last_month": (everyone, end["witness_tick"] >= last_month),
        "last_victimisation_public": (end["victim_tick"] >= 0, end["victim_public"] == 1),
        "sexual_violence_ever": (everyone, end["sexual_ever"] == 1),
        "help_less_than_needed": (
            end["days_needing_help"] > 0,
            2 * end["days_helped"] < end["days_needing_help"],
        ),
    }
    if before is not None:
        m = before["trust"].size
        pad = n - m

        def was(name: str, fill: float = 0) -> np.ndarray:
            return np.concatenate([before[name], np.full(pad, fill, dtype=before[name].dtype)])

        need_before, helped_before = was("days_needing_help"), was("days_helped")
        need_after = end["days_needing_help"] - need_before
        helped_after = end["days_helped"] - helped_before
        rate_before = helped_before / np.maximum(need_before, 1)
        rate_after = helped_after / np.maximum(need_after, 1)
        answers["help_not_easier"] = (
            (need_before > 0) & (need_after > 0),
            rate_after <= rate_before,
        )
        improved = ((end["housed"] == 1) & (was("housed") == 0)) | (
            (end["oat"] == 2) & (was("oat") != 2)
        )
        worse = (end["n_overdoses"] > was("n_overdoses")) | (end["n_victim"] > was("n_victim"))
        answers["health_not_improved"] = (was("status") == 1, ~improved | worse)
    else:
        none = np.zeros(n, dtype=bool)
        answers["help_not_easier"] = (none, none)
        answers["health_not_improved"] = (none, none)
    return answers


def run_survey(
    end: dict[str, np.ndarray],
    before: dict[str, np.ndarray] | None,
    t_end: int,
    target_n: int,
    rng: np.random.Generator,
    field_percent: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Recruit a sample and tabulate every item by group.

    Returns:
        The survey table (item, group, n, percent, ci_low, ci_high, field_percent) and the
        indices of the people recruited.
    """
    active = end["status"] == 1
    hours = np.where(active, end["survey_hours"], 0.0)
    sample = recruit(hours, target_n, rng)
    answers = item_answers(end, before, t_end)
    controls = end["survey_controls"][sample]
    ranks = pd.Series(controls).rank(method="first").to_numpy()
    tertile = np.ceil(3 * ranks / max(len(sample), 1)).astype(int) if len(sample) else ranks
    members = {
        "all": np.ones(len(sample), dtype=bool),
        "women": end["sex"][sample] == 1,
        "men": end["sex"][sample] == 0,
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
