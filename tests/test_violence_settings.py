"""Violence by setting, sex and offender: known answers for the rules and conservation in a run."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import scenelab
from scenelab.api import parameter_vector
from scenelab.model.mechanisms.violence import (
    OFFENDER_ACQUAINTANCE,
    OFFENDER_CLIENT,
    OFFENDER_POLICE,
    OFFENDER_STRANGER,
    p_in_sight,
    public_offender,
)
from scenelab.model.params import IDX
from scenelab.observe.harm import HARM_COMPONENTS, HarmWeights, harm_by_neighbourhood_month

UNTIL = dt.date(2012, 6, 30)


@pytest.fixture(scope="module")
def par(bergen) -> np.ndarray:
    return parameter_vector(bergen)


def test_a_small_group_sees_everything_but_what_concealment_hides(par):
    sight = par[IDX["people_in_sight"]]
    k = par[IDX["k_sight_concealment"]]
    assert p_in_sight(3, 0.0, par) == pytest.approx(1.0)
    assert p_in_sight(int(sight), 0.5, par) == pytest.approx(1.0 - 0.5 * k)
    # a crowd of 10x the sight range sees a tenth of the incidents; a hidden site fewer
    assert p_in_sight(int(10 * sight), 0.0, par) == pytest.approx(0.1)
    assert p_in_sight(int(10 * sight), 0.85, par) == pytest.approx(0.1 * (1.0 - 0.85 * k))
    shares = [p_in_sight(n, 0.2, par) for n in (5, 20, 80, 320)]
    assert shares == sorted(shares, reverse=True) and shares[-1] < shares[0]


def _offender_shares(par, sex: int, police_near: bool, n: int = 20_000) -> np.ndarray:
    u = (np.arange(n) + 0.5) / n  # an even grid: each type's share is exact to 1/n
    kinds = [public_offender(sex, police_near, x, par) for x in u]
    return np.bincount(kinds, minlength=4) / n


def test_public_offender_shares_are_the_parameters(par):
    w = _offender_shares(par, 1, True)
    acq, client = par[IDX["p_public_acquaintance_women"]], par[IDX["p_public_client_women"]]
    police = par[IDX["p_public_police_women"]]
    assert w[OFFENDER_ACQUAINTANCE] == pytest.approx(acq, abs=1e-4)
    assert w[OFFENDER_CLIENT] == pytest.approx(client, abs=1e-4)
    assert w[OFFENDER_POLICE] == pytest.approx(police, abs=1e-4)
    assert w[OFFENDER_STRANGER] == pytest.approx(1 - acq - client - police, abs=1e-4)
    m = _offender_shares(par, 0, True)
    assert m[OFFENDER_CLIENT] == 0.0
    assert m[OFFENDER_POLICE] == pytest.approx(par[IDX["p_public_police_men"]], abs=1e-4)
    # men are attacked by strangers and police more, women by acquaintances and clients more
    # (Marshall et al. 2008)
    assert m[OFFENDER_STRANGER] + m[OFFENDER_POLICE] > w[OFFENDER_STRANGER] + w[OFFENDER_POLICE]


def test_no_police_offender_where_no_officer_is_present(par):
    with_police = _offender_shares(par, 0, True)
    without = _offender_shares(par, 0, False)
    assert without[OFFENDER_POLICE] == 0.0
    # the others keep their proportions
    ratio = without[OFFENDER_STRANGER] / without[OFFENDER_ACQUAINTANCE]
    expected = with_police[OFFENDER_STRANGER] / with_police[OFFENDER_ACQUAINTANCE]
    assert ratio == pytest.approx(expected, rel=1e-3)


@pytest.fixture(scope="module")
def short(bergen) -> scenelab.Results:
    return scenelab.run(bergen, seed=11, until=UNTIL)


def test_every_victimisation_is_counted_once_by_setting_sex_and_offender(short):
    cd, sd = short.city_day, short.site_day
    scene = cd["victims_women_scene"].sum() + cd["victims_men_scene"].sum()
    street = cd["victims_women_street"].sum() + cd["victims_men_street"].sum()
    private = cd["victims_women_private"].sum() + cd["victims_men_private"].sum()
    assert scene == sd["violence_incidents"].sum() > 0
    assert street == cd["street_violence"].sum() > 0
    assert private == cd["private_violence"].sum() > 0
    assert 0 < cd["shelter_violence"].sum() < private
    by = [f"violence_by_{k}" for k in ("acquaintance", "client", "stranger", "police")]
    assert cd[by].to_numpy().sum() == scene + street + private
    # clients attack only women
    assert cd["violence_by_client"].sum() <= cd.filter(like="victims_women").to_numpy().sum()


def test_people_carry_the_setting_and_offender_of_their_last_victimisation(short):
    people = short.people
    victims = people[people["victim_tick"] >= 0]
    assert len(victims) > 0
    assert victims["victim_setting"].between(0, 3).all()
    assert victims["victim_offender"].between(0, 3).all()
    assert (victims["victim_public"] == (victims["victim_setting"] <= 1)).all()
    never = people[people["victim_tick"] < 0]
    assert (never["victim_setting"] == -1).all() and (never["victim_offender"] == -1).all()
    # only women are victimised by clients
    assert (victims.loc[victims["victim_offender"] == 1, "sex"] == 1).all()


def test_off_scene_sexual_violence_is_weighed_once():
    row = {c: 0.0 for c in HARM_COMPONENTS} | {"month": pd.Timestamp("2015-01-01")}
    row |= {"neighbourhood": "a", "private_violence": 3.0, "street_violence": 1.0}
    row |= {"offscene_sexual_violence": 2.0}
    w = HarmWeights()
    out = harm_by_neighbourhood_month(pd.DataFrame([row]), w)
    assert out.loc[0, "harm_violence_incidents"] == pytest.approx(2 * w.violence_incidents)
    assert out.loc[0, "harm_sexual_violence_incidents"] == pytest.approx(
        2 * w.sexual_violence_incidents
    )
    assert out.loc[0, "harm_off_scene"] == pytest.approx(
        2 * w.violence_incidents + 2 * w.sexual_violence_incidents
    )


def test_private_violence_rate_and_client_share_known_answer(tmp_path):
    """With violence at sites and on the street off, and no extra risk for the unhoused, women are
    victimised in private places at ``rate_private_violence_women_per_year`` per year active (men
    at theirs), and a share ``p_private_client_women`` of women's private victimisations are by
    clients. Counts are Poisson/binomial: 4.5 sd tolerances (the active days are exact to about a
    day per person, under 1% here)."""
    rate_w, rate_m, p_client = 5.0, 2.0, 0.3
    path = tmp_path / "private.toml"
    path.write_text(
        '[variant]\nbase = "bergen"\n[scenario]\nname = "private"\ntitle = "private"\n'
        "[parameters]\nrate_violence_per_person_hour = 0.0\nrate_street_violence_per_year = 0.0\n"
        f"rel_private_violence_unhoused = 1.0\nrate_private_violence_women_per_year = {rate_w}\n"
        f"rate_private_violence_men_per_year = {rate_m}\np_private_client_women = {p_client}\n"
    )
    until = dt.date(2012, 12, 31)
    res = scenelab.run(scenelab.load_scenario(path), seed=3, until=until)
    people, cd = res.people, res.city_day
    n_days = len(cd)
    end = np.where(people["exit_day"] >= 0, people["exit_day"], n_days)
    days = (end - people["entry_day"]).clip(lower=0)
    for sex, rate, col in (
        (1, rate_w, "victims_women_private"),
        (0, rate_m, "victims_men_private"),
    ):
        expected = rate / 365.25 * days[people["sex"] == sex].sum()
        observed = cd[col].sum()
        assert abs(observed - expected) < 4.5 * np.sqrt(expected) + 0.01 * expected, (
            col,
            observed,
            expected,
        )
    assert cd["victims_women_scene"].sum() == cd["victims_men_street"].sum() == 0
    n_women = cd["victims_women_private"].sum()
    clients = cd["violence_by_client"].sum()
    assert abs(clients - p_client * n_women) < 4.5 * np.sqrt(n_women * p_client * (1 - p_client))
