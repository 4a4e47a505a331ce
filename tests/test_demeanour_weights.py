"""A person's weights that depend on demeanour alone are computed once, when they enter.

Site choice's demeanour factor of the weight of police risk and policing's weight of being
controlled were an ``exp`` at every choice and every policed hour; they are now fields of the
person (``entry_exit.demeanour_weights``). Each must equal its formula for everyone who has been
in the scene, whether in the initial population or entering later.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from scenelab.api import parameter_vector
from scenelab.model.engine import run_model
from scenelab.model.params import IDX
from scenelab.model.state import STATUS_EMPTY


def test_weights_equal_their_formula_for_initial_people_and_entrants(bergen):
    par = parameter_vector(bergen)
    raw = run_model(bergen, par, seed=3, until=bergen.run.start + dt.timedelta(days=365))
    people = raw.people
    used = np.flatnonzero(people.status != STATUS_EMPTY)
    entrants = used[people.entry_day[used] > 0]
    # Both paths are exercised: the initial population and people who entered during the year.
    assert len(entrants) >= 20
    assert len(used) - len(entrants) >= 100
    k_risk = par[IDX["k_risk_demeanour"]]
    b_control = par[IDX["b_demeanour_control"]]
    rel_women = par[IDX["rel_control_women"]]
    assert k_risk > 0 and b_control > 0 and rel_women != 1.0
    for i in used:
        d = people.demeanour[i]
        assert people.risk_demeanour[i] == math.exp(-k_risk * d)
        police = math.exp(b_control * d)
        if people.sex[i] == 1:
            police *= rel_women
        assert people.police_weight[i] == police
