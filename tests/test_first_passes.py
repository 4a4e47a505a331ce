"""Discovery's first pass also lists injection's injectors: the same people as injection's own."""

from __future__ import annotations

import numpy as np
import pytest

from scenelab.model.mechanisms.discovery import _scouts_dense
from scenelab.model.mechanisms.injection import _inject_by_day, injectors_and_scouts
from scenelab.model.rng import below53
from scenelab.model.state import OAT_IN, STATUS_ACTIVE


@pytest.mark.parametrize("seed", range(5))
def test_one_pass_lists_the_injectors_and_scouts_of_the_two_passes(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    status = rng.choice([STATUS_ACTIVE, STATUS_ACTIVE, STATUS_ACTIVE + 1], n).astype(np.int8)
    injects = (rng.random(n) < 0.6).astype(np.int8)
    oat = np.where(rng.random(n) < 0.3, OAT_IN, 0).astype(np.int8)
    t = int(rng.integers(0, 50_000))
    away_until = np.where(rng.random(n) < 0.1, t + 5, t - 3).astype(np.int64)
    active = np.sort(rng.choice(n, 1200, replace=False)).astype(np.int64)
    below_of = np.array([below53(0.125), below53(0.06)], dtype=np.int64)
    below_scout = below53(0.057)
    key_inject, key_scout = np.uint64(rng.integers(1, 2**63)), np.uint64(rng.integers(1, 2**63))

    injectors = np.zeros(n + 1, dtype=np.int64)
    scouts = np.zeros(n + 1, dtype=np.int64)
    m, k = injectors_and_scouts(
        t, key_inject, key_scout, active, len(active), status, injects, away_until, oat,
        below_of, below_scout, injectors, scouts,
    )  # fmt: skip
    who = np.zeros(n + 1, dtype=np.int64)
    m2 = _inject_by_day(
        key_inject, t, active, len(active), status, injects, away_until, oat, below_of, who
    )
    need = np.zeros(n + 1, dtype=np.int64)
    k2 = _scouts_dense(key_scout, t, active, len(active), status, away_until, below_scout, need)
    assert m == m2 and k == k2
    assert np.array_equal(injectors[:m], who[:m2])
    assert np.array_equal(scouts[:k], need[:k2])
    # The draws decide: about 1 in 8 or 16 of the free injectors, about 1 in 18 of the free.
    free = (status[active] == STATUS_ACTIVE) & (away_until[active] <= t)
    assert 0 < m < (free & (injects[active] != 0)).sum() / 4
    assert 0 < k < free.sum() / 8
