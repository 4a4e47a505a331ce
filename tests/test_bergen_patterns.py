"""Bergen patterns (BRIEF.md) measured on full 2012-2017 runs of the built-in defaults, 4 seeds.

P1 and P4 hold in every seed. P2, P3 and P6 do not hold with the current defaults: the model is
bistable after the closure (in some seeds the scene tips straight into the tunnel, in others it
stays in Vagsbunnen), and expulsions/fines are below the police figures. Those tests are strict
xfails, so they fail loudly the day the model starts meeting the pattern; the figures are in the
issue note and in `python -m scenelab patterns`-style output of scenelab.patterns.
"""

from __future__ import annotations

import pytest

import scenelab
from scenelab.patterns import bergen_patterns

SEEDS = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def measured():
    scn = scenelab.load_scenario("bergen")
    centre = [n.id for n in scn.neighbourhoods if n.centre]
    out = {}
    for seed in SEEDS:
        res = scenelab.run(scn, seed=seed)
        out[seed] = {p.pattern: p for p in bergen_patterns(res.site_day, centre, ["solheim_nord"])}
    return out


def _holds_everywhere(measured, pattern):
    failing = {s: m[pattern].measured for s, m in measured.items() if not m[pattern].holds}
    assert not failing, f"{pattern} fails in seeds {failing}"


@pytest.mark.slow
def test_p1_park_empty_after_closure(measured):
    _holds_everywhere(measured, "P1")


@pytest.mark.slow
def test_p4_harm_moves_from_centre_to_deprived_area(measured):
    _holds_everywhere(measured, "P4")


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="bistable: in about half the seeds the scene skips "
    "Vagsbunnen and goes straight to the tunnel (see issue note)",
)
def test_p2_vagsbunnen_grows_first_year(measured):
    _holds_everywhere(measured, "P2")


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="tunnel never both main scene and Vagsbunnen still active "
    "after summer 2015 with current defaults (see issue note)",
)
def test_p3_tunnel_becomes_main_scene(measured):
    _holds_everywhere(measured, "P3")


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="expulsions 2015 ~500-570 (target >1300) or ~15 when the "
    "scene tips to the tunnel; fines below target (see issue note)",
)
def test_p6_expulsions_and_fines_within_factor_two(measured):
    _holds_everywhere(measured, "P6")
