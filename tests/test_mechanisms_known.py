"""Mechanism tests with known answers: each isolates one rule of a mechanism and checks the
documented quantity (statistical checks state their tolerance; every run has a fixed seed)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import scenelab
from scenelab.scenario import load_scenario

UNTIL = dt.date(2012, 12, 31)
SITES = [
    "nygardsparken",
    "vagsbunnen",
    "strax_tunnel",
    "bystasjonen",
    "jernbanestasjonen",
    "torgallmenningen",
    "festplassen",
]
POLICE = (
    '\n[[interventions]]\nid = "patrol_all"\ntype = "police_plan"\nstart = 2012-01-15\n'
    f"sites = {SITES!r}\n".replace("'", '"')
    + 'mode = "continuous_patrol"\nofficers = 2\nhours = { from_hour = 0, to_hour = 24 }\n'
)
EXPULSIONS = "".join(
    f'\n[[interventions]]\nid = "expel_{zone}"\ntype = "expulsion_policy"\nstart = 2012-01-15\n'
    f'zone = "{zone}"\npropensity = 0.5\nduration_hours = 24\n'
    for zone in ("park_zone", "centre_zone")
)


def _variant(tmp_path, name: str, extra: str, drop: tuple[str, ...] = ()):
    path = tmp_path / f"{name}.toml"
    dropped = f"drop_interventions = {list(drop)!r}\n".replace("'", '"') if drop else ""
    path.write_text(
        f'[variant]\nbase = "bergen"\n{dropped}[scenario]\nname = "{name}"\ntitle = "{name}"\n'
        + extra
    )
    return load_scenario(path)


def _controls_per_hour_by_sex(people) -> tuple[float, float, float, float]:
    """(controls of women, hours of women, controls of men, hours of men)."""
    women = people["sex"] == 1
    return (
        float(people.loc[women, "n_controls"].sum()),
        float(people.loc[women, "hours_present"].sum()),
        float(people.loc[~women, "n_controls"].sum()),
        float(people.loc[~women, "hours_present"].sum()),
    )


def test_women_are_controlled_rel_control_women_times_as_often(tmp_path):
    """Per hour present, women's control rate / men's scales by ``rel_control_women``.

    Exposure (where and when women and men are present) is held equal by dividing by the same
    ratio in a run with ``rel_control_women = 1``: (r_w/r_m at 0.5) / (r_w/r_m at 1.0) = 0.5.
    Tolerance: 4 standard errors of the log ratio of four Poisson counts.
    """
    scn = _variant(tmp_path, "patrol", POLICE)
    # Discovery off (Bergen switches it on): otherwise men, controlled more, scout and find
    # unpoliced places, and exposure would differ by sex between the two runs.
    base = {
        "b_demeanour_control": 0.0,
        "rate_scout_per_hour": 0.0,
        "rate_word_of_mouth_per_hour": 0.0,
        "main_scenes_known": 1.0,
    }
    ratios, counts = [], []
    for rel in (1.0, 0.5):
        res = scenelab.run(scn, seed=11, until=UNTIL, overrides={**base, "rel_control_women": rel})
        cw, hw, cm, hm = _controls_per_hour_by_sex(res.people)
        ratios.append((cw / hw) / (cm / hm))
        counts += [cw, cm]
    assert min(counts) > 100, counts
    se = math.sqrt(sum(1.0 / c for c in counts))
    observed = ratios[1] / ratios[0]
    assert abs(math.log(observed) - math.log(0.5)) < 4 * se, (observed, ratios, counts)


def test_admitting_poly_users_raises_use_of_an_opiates_only_room(tmp_path):
    """The opiates-only rule keeps poly users out: admitting them raises the room's use."""
    text = scenelab.scenario.builtin_text("bergen")
    text = text.replace("capacity_injections_per_day = 100", "capacity_injections_per_day = 500")
    text = text.replace("start = 2016-12-01", "start = 2012-01-15")
    opiates = tmp_path / "opiates.toml"
    opiates.write_text(text)
    poly = tmp_path / "poly.toml"
    poly.write_text(text.replace('substances = ["opioids"]', 'substances = ["opioids", "poly"]'))
    for seed in (1, 2):
        a = scenelab.run(load_scenario(opiates), seed=seed, until=dt.date(2012, 3, 31))
        b = scenelab.run(load_scenario(poly), seed=seed, until=dt.date(2012, 3, 31))
        used_a = a.city_day["sif_injections"].sum()
        used_b = b.city_day["sif_injections"].sum()
        assert used_b > used_a > 0, (seed, used_a, used_b)


def test_bad_and_good_contacts_move_trust_by_the_documented_amounts(tmp_path):
    """With trust recovery off, trust = trust0 - d x bad + d / ratio x good (until a bound)."""
    d, ratio = 0.004, 8.0
    scn = _variant(tmp_path, "patrol", POLICE)
    overrides = {
        "rate_trust_recovery_per_year": 0.0,
        "d_trust_bad_contact": d,
        "ratio_bad_good": ratio,
    }
    people = scenelab.run(scn, seed=5, until=UNTIL, overrides=overrides).people
    expected = (
        people["trust0"] - d * people["n_bad_contacts"] + d / ratio * people["n_good_contacts"]
    )
    # people whose trust could never have reached 0 or 1 on the way
    inside = (people["trust0"] - d * people["n_bad_contacts"] > 0) & (
        people["trust0"] + d / ratio * people["n_good_contacts"] < 1
    )
    contacted = inside & (people["n_bad_contacts"] > 0)
    assert contacted.sum() > 50
    np.testing.assert_allclose(people.loc[inside, "trust"], expected[inside], atol=1e-9)


def test_an_expelled_person_complies_with_probability_p_comply_ban(tmp_path):
    """Each order draws compliance with ``p_comply_ban``; the last draw is kept per person.

    Tolerance: 4 binomial standard errors.
    """
    scn = _variant(tmp_path, "expel", POLICE + EXPULSIONS)
    p = 0.7
    people = scenelab.run(scn, seed=9, until=UNTIL, overrides={"p_comply_ban": p}).people
    expelled = people[people["n_expulsions"] > 0]
    n = len(expelled)
    assert n > 100, n
    share = float(expelled["ban_comply"].mean())
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), (share, n)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_expulsion_compliance_at_the_extremes(tmp_path, p):
    """Nobody complies at ``p_comply_ban = 0``, everybody at 1."""
    scn = _variant(tmp_path, "expel", POLICE + EXPULSIONS)
    res = scenelab.run(scn, seed=9, until=dt.date(2012, 3, 31), overrides={"p_comply_ban": p})
    expelled = res.people[res.people["n_expulsions"] > 0]
    assert len(expelled) > 0
    assert (expelled["ban_comply"] == int(p)).all()


def _occasional_exits(people) -> int:
    from scenelab.model.state import EXIT_OCCASIONAL

    return int((people["exit_reason"] == EXIT_OCCASIONAL).sum())


def test_enforcement_deters_occasional_buyers_only_where_they_met_it(tmp_path):
    """``k_occasional_deterrence`` scales occasional buyers' exit by remembered police risk.

    Without any police in 2012 nobody remembers a risk, so the parameter changes nothing, bit for
    bit. Under patrols at every scene site, occasional buyers leave more often with it at 10 than
    at 0, over seeds 1-8 (same seeds, so the same draws): by more than 3 Poisson standard errors
    of the difference between two independent counts, a conservative bound when draws are shared.
    """
    quiet = _variant(tmp_path, "no_police", "", drop=("park_raids_2012", "ordinary_patrol_2012"))
    off = scenelab.run(quiet, seed=3, until=UNTIL, overrides={"k_occasional_deterrence": 0.0})
    on = scenelab.run(quiet, seed=3, until=UNTIL, overrides={"k_occasional_deterrence": 10.0})
    # The same people, state for state (the run id names the parameters, so it differs).
    assert off.people.drop(columns="run_id").equals(on.people.drop(columns="run_id"))
    assert _occasional_exits(off.people) > 0

    patrolled = _variant(tmp_path, "patrol", POLICE)
    counts = {
        k: sum(
            _occasional_exits(
                scenelab.run(
                    patrolled, seed=seed, until=UNTIL, overrides={"k_occasional_deterrence": k}
                ).people
            )
            for seed in range(1, 9)
        )
        for k in (0.0, 10.0)
    }
    off_n, on_n = counts[0.0], counts[10.0]
    assert on_n - off_n > 3 * math.sqrt(off_n + on_n), counts
