"""Interview dates of the virtual survey, and each person's state copied on the days it needs.

Fieldwork is spread over the survey window: each person slot gets an interview day drawn uniformly
over the window from the survey's own random stream (common random numbers across arms: the same
person is asked on the same day in every arm). A respondent answers from what they lived through up
to that day, so the engine copies each person's attributes at the start of their interview day and
at the start of the days their recall periods begin (``RECALL_DAYS``: a month and a year before).
Only the slots whose day it is are copied, so the copies cost one row per person per lag.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Copies taken per person: name -> days before the interview day.
RECALL_DAYS: dict[str, int] = {"interview": 0, "interview_month": 30, "interview_year": 365}


def interview_days(seed: int, replicate: int, n_slots: int, first: int, n_days: int) -> np.ndarray:
    """Return each person slot's interview day (run day index), uniform over the window.

    Args:
        seed: Run seed.
        replicate: Replicate number.
        n_slots: Person slots (``population.max_people``).
        first: Run day index of the window's first day.
        n_days: Days in the window.
    """
    digest = hashlib.blake2b(f"{seed}/{replicate}/interview".encode(), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(digest, "little"))
    return first + rng.integers(0, max(n_days, 1), size=n_slots)


class InterviewCopies:
    """Per-person copies of the people's attributes on their interview (and recall-start) days.

    Args:
        days: Each slot's interview day (run day index).
        fields: The people's attributes: name -> (dtype, fill, meaning).
    """

    def __init__(self, days: np.ndarray, fields: dict[str, tuple[type, float, str]]) -> None:
        self.days = days
        self.copies: dict[str, dict[str, np.ndarray]] = {
            name: {
                f: np.full(days.size, fill, dtype=dtype) for f, (dtype, fill, _) in fields.items()
            }
            for name in RECALL_DAYS
        }
        # What to copy at the start of each run day: (copy, its slots), found once here. ``take``
        # is called at every stop of the run (~700 times for Bergen); a search per lag and call
        # cost more than the copies. A stable sort keeps each day's slots ascending.
        order = np.argsort(days, kind="stable")
        interview, first, count = np.unique(days[order], return_index=True, return_counts=True)
        self._due: dict[int, list[tuple[dict[str, np.ndarray], np.ndarray]]] = {}
        for name, lag in RECALL_DAYS.items():
            for d, lo, n in zip(interview.tolist(), first.tolist(), count.tolist(), strict=True):
                self._due.setdefault(d - lag, []).append((self.copies[name], order[lo : lo + n]))

    def days_needed(self) -> set[int]:
        """Return the run days at whose start some copy is taken."""
        return set(self._due)

    def take(self, day: int, people: object) -> None:
        """Copy the attributes of the slots whose interview (or recall start) is ``day``."""
        for copy, slots in self._due.get(day, ()):
            for field, arr in copy.items():
                arr[slots] = getattr(people, field)[slots]

    def snapshots(self, n_used: int) -> dict[str, dict[str, np.ndarray]]:
        """Return the copies of the used slots, plus each slot's interview day (``day``)."""
        out = {
            name: {f: a[:n_used].copy() for f, a in c.items()} for name, c in self.copies.items()
        }
        out["interview"]["day"] = self.days[:n_used].copy()
        return out
