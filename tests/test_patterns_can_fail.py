"""The Bergen pattern checks can fail: synthetic histories that get one thing wrong fail it.

Each history is a ``site_day`` table written by hand (no model run); the harm follows presence
(violence per person-day), and ``neighbourhood_month`` is built by the model's own aggregation.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

import scenelab
from scenelab.observe.tables import SITE_DAY_COLUMNS, neighbourhood_month
from scenelab.patterns import load_patterns, measure

SCN = scenelab.load_scenario("bergen")
CENTRE = [n.id for n in SCN.neighbourhoods if n.centre]
DEPRIVATION = {n.id: n.deprivation for n in SCN.neighbourhoods}
SITE_HOOD = {s.id: s.neighbourhood for s in SCN.sites}


def _history(where) -> pd.DataFrame:
    """``where(date)`` -> {site: people present}; violence 0.05 per person-day."""
    rows = []
    for date in pd.date_range("2013-01-01", "2016-12-31"):
        present = where(date)
        for site in SITE_HOOD:
            row = dict.fromkeys(SITE_DAY_COLUMNS, 0.0)
            row.update(date=date, site=site, neighbourhood=SITE_HOOD[site])
            row["people_present"] = float(present.get(site, 0.0))
            row["violence_incidents"] = round(0.05 * row["people_present"])
            rows.append(row)
    return pd.DataFrame(rows)


def _bergen_like(date, after_closure=None, late=None):
    if date < pd.Timestamp("2014-08-25"):
        return {"nygardsparken": 50.0}
    if date < pd.Timestamp("2015-12-01"):
        return after_closure or {"vagsbunnen": 50.0}
    return late or {"strax_tunnel": 48.0, "vagsbunnen": 2.0}


WHERE_PATTERNS = [p for p in load_patterns(SCN) if p.id in ("P1", "P2", "P3", "P3b", "P4")]


def _measure(where) -> dict[str, bool]:
    sd = _history(where)
    results = SimpleNamespace(site_day=sd, neighbourhood_month=neighbourhood_month(sd, SCN, {}))
    return {p.id: measure(p, results, SCN).holds for p in WHERE_PATTERNS}


def test_a_bergen_like_history_meets_every_pattern():
    assert _measure(_bergen_like) == {"P1": True, "P2": True, "P3": True, "P3b": True, "P4": True}


@pytest.mark.parametrize(
    ("name", "where", "fails"),
    [
        ("dispersed", lambda d: _bergen_like(d, after_closure={"vagsbunnen": 10.0}), {"P1"}),
        (
            "split",
            lambda d: _bergen_like(d, after_closure={"vagsbunnen": 25.0, "bystasjonen": 25.0}),
            {"P2"},
        ),
        (
            "straight_to_tunnel",
            lambda d: _bergen_like(d, after_closure={"strax_tunnel": 50.0}),
            {"P2"},
        ),
        ("stays_in_centre", lambda d: _bergen_like(d, late={"vagsbunnen": 50.0}), {"P3", "P4"}),
        ("no_residual", lambda d: _bergen_like(d, late={"strax_tunnel": 50.0}), {"P3b"}),
    ],
)
def test_a_history_that_gets_one_thing_wrong_fails_its_pattern(name, where, fails):
    found = _measure(where)
    assert {p for p, holds in found.items() if not holds} == fails, (name, found)
