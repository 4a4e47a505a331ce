"""The skip chain over person indices (``rng.skip``): exact Bernoulli candidates, keyed by tick."""

from __future__ import annotations

import numpy as np
import pytest

from scenelab.model.jit import njit
from scenelab.model.rng import below53, bits53, skip, skip_scale, stream_keys, uniform


@njit(cache=True)
def _hits(key, n_ticks, n, p):  # noqa: ANN001, ANN202
    """Return how often each index is a candidate over ``n_ticks`` ticks, and the gap counts."""
    hits = np.zeros(n, dtype=np.int64)
    pairs = 0
    scale = skip_scale(p)
    for t in range(n_ticks):
        i = skip(key, t, -1, scale, n)
        prev = -2
        while i < n:
            hits[i] += 1
            if i == prev + 1:
                pairs += 1
            prev = i
            i = skip(key, t, i, scale, n)
    return hits, pairs


@pytest.mark.parametrize("p", [0.003, 0.07, 0.5])
def test_every_index_is_a_candidate_with_chance_p(p: float) -> None:
    """Each index is a candidate in a share p of ticks, and neighbours are independent."""
    key = stream_keys(3, 0)[3]
    n, n_ticks = 200, 20_000
    hits, pairs = _hits(key, n_ticks, n, p)
    se = np.sqrt(p * (1 - p) / n_ticks)
    share = hits / n_ticks
    assert abs(share.mean() - p) < 4 * se / np.sqrt(n)
    # Chi-square of the per-index counts against Binomial(n_ticks, p): index 0 is no different.
    chi2 = (((hits - n_ticks * p) ** 2) / (n_ticks * p * (1 - p))).sum()
    assert chi2 < n + 5 * np.sqrt(2 * n)
    # Adjacent candidates (a gap of zero) occur with chance p x p per pair of neighbours.
    expected = p * p * (n - 1) * n_ticks
    assert abs(pairs - expected) < 5 * np.sqrt(expected) + 5


def test_edge_chances() -> None:
    """p = 1 visits every index, p = 0 none."""
    key = stream_keys(1, 0)[8]
    hits, _ = _hits(key, 10, 50, 1.0)
    assert (hits == 10).all()
    hits, _ = _hits(key, 10, 50, 0.0)
    assert (hits == 0).all()


def test_candidates_depend_on_the_tick_and_key_only() -> None:
    """The same key and tick give the same candidates; a longer index range extends them."""
    key = stream_keys(5, 0)[8]
    a, _ = _hits(key, 50, 300, 0.1)
    b, _ = _hits(key, 50, 600, 0.1)
    assert (a == b[:300]).all()


def test_bits53_and_below53_give_the_uniform_compare_exactly() -> None:
    """``bits53 < below53(p)`` is ``uniform < p`` draw for draw, at and around the edges."""
    key = np.uint64(0x1234_5678_9ABC_DEF1)
    ps = [0.0, -0.1, 1.0, 1.5, 5e-324, 0.1, 0.5, 0.05, 1.0 - 2.0**-53, 0.3333333333333333]
    for t in range(40):
        for i in range(50):
            b = bits53(key, t, i, 0)
            u = uniform(key, t, i, 0)
            assert u == b / 2.0**53
            ps_here = [*ps, u, np.nextafter(u, 1.0), np.nextafter(u, 0.0)]
            for p in ps_here:
                assert (b < below53(p)) == (u < p), (t, i, p)
    assert below53(float("nan")) == 0
