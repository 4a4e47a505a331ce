"""The helper process of the engine's first compile (``warmup``): ``python -m`` this module.

It builds the built-in city's state and compiles the phase kernels it claims into the shared disk
cache. The kernels' types do not depend on the scenario (the same arrays and dtypes in every city,
and the parameter vector is float64 whatever its values), so the built-in city stands for the
user's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from scenelab.model import engine
from scenelab.model import state as st
from scenelab.model.params import PARAMETERS
from scenelab.model.rng import stream_keys
from scenelab.model.warmup import Sources, compile_claimed, phase_signatures
from scenelab.scenario.loader import load_scenario


def main(claims: str) -> None:
    """Compile every phase this process claims in the scratch directory ``claims``."""
    scn = load_scenario("bergen")
    par = np.array([p.default for p in PARAMETERS], dtype=np.float64)
    world = engine.compile_world(scn)
    keys = stream_keys(0, 0)
    people, sellers, sites = engine.initial_state(scn, world, par, keys)
    out = st.new_out(world.n_days, len(scn.sites))
    src = Sources(world, people, sellers, sites, out, par, engine.population_vector(scn), keys)
    compile_claimed(phase_signatures(src), Path(claims))


if __name__ == "__main__":
    main(sys.argv[1])
