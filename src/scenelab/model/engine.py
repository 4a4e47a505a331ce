"""The engine: one compiled loop over ticks that calls the phases in ``PHASE_ORDER``.

The whole simulation runs inside Numba; Python only compiles the scenario into arrays, calls the
kernel in chunks (for the progress bar) and turns the recorded arrays into tables.

The loop is generated from the phase declarations (``phases.phases()``): Numba cannot iterate over a
list of functions with different signatures inside compiled code, so ``simulate_source`` writes the
loop's text, one call per phase with the argument names the kernel's signature asks for, and
``build_loop`` compiles it. The generator's input is our own phase list, never scenario data. The
code object is given this file's name, so Numba caches it like a hand-written function; the cache
directory is keyed by a fingerprint of every model source and parameter file (``cache_guard``), so
a change to the phase list or to a kernel's signature gets a fresh compile.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from scenelab.model import state as st
from scenelab.model.interviews import InterviewCopies, interview_days
from scenelab.model.jit import njit
from scenelab.model.mechanisms import entry_exit, record, site_choice
from scenelab.model.mechanisms.common import (
    N_POP,
    POP_HOUSED,
    POP_INJECT,
    POP_OPIOIDS,
    POP_STIMULANTS,
    POP_TRAVEL_TOL,
    POP_TRUST,
    POP_TRUST_SD,
    POP_WOMEN,
)
from scenelab.model.phases import Phase, phases
from scenelab.model.rng import S_TASTE, init_generator, stream_keys
from scenelab.model.structs import as_ref, lend
from scenelab.model.warmup import Sources, compile_engine, mark_compiled
from scenelab.model.world import World, compile_world
from scenelab.scenario.schema import Scenario

#: Days before the survey's reference date from which its "before" period is counted.
REFERENCE_YEAR = 365
#: The loop's arguments it lends the kernels (``structs.lend``), by the names the kernels use; the
#: loop receives each as ``<name>_``.
LENT = ("par", "pop", "keys", "W", "P", "L", "X", "R")
SIGNATURE = ", ".join(["t0", "t1", *(f"{name}_" for name in LENT), "survey_t0", "survey_t1"])


def simulate_source(
    name: str = "simulate",
    extra_args: Sequence[str] = (),
    around: Callable[[int, Phase, str], list[str]] | None = None,
    phase_list: Sequence[Phase] | None = None,
) -> str:
    """Return the source of the tick loop, one kernel call per phase in tick order.

    Args:
        name: The generated function's name.
        extra_args: Arguments appended to the loop's signature (the profiler's accumulator).
        around: Optional ``(k, phase, call) -> lines`` that replaces phase ``k``'s call line (the
            profiler wraps it in clock reads); the lines are indented to the loop body.
        phase_list: The phases to call (default: ``phases.phases()``, the model's tick).

    Returns:
        Python source defining ``name``.
    """
    args = ", ".join([SIGNATURE, *extra_args])
    lines = [
        f"def {name}({args}):",
        '    """Advance the model from tick ``t0`` to ``t1`` (exclusive), one hour per tick."""',
        # The kernels get the vectors and the state lent: no reference counted on each call.
        *(f"    {name} = _lend({name}_)" for name in LENT),
        "    for t in range(t0, t1):",
        "        day = t // 24",
        "        hour = t % 24",
        "        ep = W.epoch_of_day[day]",
    ]
    for k, phase in enumerate(phases() if phase_list is None else phase_list):
        call = f"_step_{phase.module}({', '.join(phase.args)})"
        body = around(k, phase, call) if around else [call]
        lines += [f"        {line}" for line in body]
    return "\n".join(lines) + "\n"


def build_loop(source: str, name: str, namespace: dict[str, Any], filename: str) -> Any:
    """Compile generated loop source in ``namespace`` (which gets every phase's kernel).

    Args:
        source: Text from :func:`simulate_source`.
        name: The function it defines.
        namespace: Globals for the function (Numba resolves callees through them).
        filename: File name given to the code object (Numba's cache locator needs a real file).

    Returns:
        The plain Python function; decorate it with ``njit``.
    """
    namespace.update({f"_step_{p.module}": p.step for p in phases()}, _lend=lend)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated loop
    return namespace[name]


# nogil: replicates run side by side in threads (``scenelab.parallel``).
simulate = njit(cache=True, nogil=True)(
    build_loop(simulate_source(), "simulate", globals(), __file__)
)


@dataclass
class RawRun:
    """Everything a run recorded, as arrays, before it becomes tables."""

    world: World
    people: st.People
    sellers: st.Sellers
    sites: st.SiteState
    out: st.Out
    n_days: int
    start: dt.date
    snapshots: dict[str, dict[str, np.ndarray]]


def population_vector(scn: Scenario) -> np.ndarray:
    """Return the composition of new entrants, from the scenario's population section."""
    pop = scn.population
    vec = np.zeros(N_POP)
    vec[POP_WOMEN] = pop.share_women
    vec[POP_OPIOIDS] = pop.substance_mix.opioids
    vec[POP_STIMULANTS] = pop.substance_mix.stimulants
    vec[POP_INJECT] = pop.share_injecting
    vec[POP_HOUSED] = pop.share_housed
    vec[POP_TRUST] = pop.trust_mean
    vec[POP_TRUST_SD] = pop.trust_sd
    vec[POP_TRAVEL_TOL] = scn.sellers.risk_tolerance_travelling
    return vec


def initial_state(
    scn: Scenario, world: World, par: np.ndarray, keys: np.ndarray
) -> tuple[st.People, st.Sellers, st.SiteState]:
    """Return the people, sellers and site state at the start of a run (from the init stream)."""
    rng = init_generator(keys)
    people = st.new_people(scn, rng, par)
    site_choice.draw_tastes(keys[S_TASTE], par, people.taste_footfall, people.taste_conceal)
    entry_exit.initial_demeanour_weights(
        par,
        people.demeanour,
        people.sex,
        scn.population.initial_people,
        people.risk_demeanour,
        people.police_weight,
    )
    sellers_ = st.new_sellers(scn, rng)
    sites = st.new_site_state(scn, world, record.main_scene_count(par))
    return people, sellers_, sites


def run_model(
    scn: Scenario,
    par: np.ndarray,
    seed: int,
    replicate: int = 0,
    until: dt.date | None = None,
    progress: bool = False,
    chunk_days: int = 30,
) -> RawRun:
    """Run the model on a scenario with a parameter vector.

    Args:
        scn: A validated scenario.
        par: Parameter vector in registry order (``params.PARAMETERS``).
        seed: Run seed; with ``replicate`` it keys every random stream.
        replicate: Replicate number.
        until: Last simulated day (inclusive); defaults to the scenario's end.
        progress: Show a progress bar of simulated time.
        chunk_days: Days per compiled call (granularity of the progress bar).

    Returns:
        The raw arrays of the run.
    """
    world = compile_world(scn)
    keys = stream_keys(seed, replicate)
    people, sellers_, sites = initial_state(scn, world, par, keys)
    end = min(until or scn.run.end, scn.run.end)
    n_days = (end - scn.run.start).days + 1
    out = st.new_out(world.n_days, len(scn.sites))
    pop = population_vector(scn)
    survey_t0 = survey_t1 = -1
    if scn.survey is not None:
        survey_t0 = (scn.survey.start - scn.run.start).days * 24
        survey_t1 = ((scn.survey.end - scn.run.start).days + 1) * 24
    # Days at whose start the people's state is copied (the survey's reference points), and each
    # person's interview and recall-start days (``interviews``).
    snap_days: dict[int, list[str]] = {}
    copies = None
    if scn.survey is not None:
        first = (scn.survey.start - scn.run.start).days
        snap_days.setdefault((scn.survey.end - scn.run.start).days + 1, []).append("survey_end")
        if scn.survey.after_intervention is not None:
            ref = (scn.survey.after_intervention - scn.run.start).days
            snap_days.setdefault(ref, []).append("intervention")
            snap_days.setdefault(ref - REFERENCE_YEAR, []).append("intervention_year")
        days = interview_days(
            seed,
            replicate,
            scn.population.max_people,
            first,
            (scn.survey.end - scn.survey.start).days + 1,
        )
        copies = InterviewCopies(days, st.PEOPLE_FIELDS)
    snapshots: dict[str, dict[str, np.ndarray]] = {}
    stops = {*snap_days, *(copies.days_needed() if copies is not None else ())}
    bounds = sorted({*range(0, n_days, chunk_days), *(d for d in stops if 0 < d < n_days)})
    bounds.append(n_days)
    # A live bar on a terminal; in a log file (batch jobs, CI) one line per run instead of a
    # carriage-return stream that grows to megabytes.
    label = f"{scn.name} seed {seed} r{replicate}"
    live = progress and sys.stderr.isatty()
    bar = tqdm(total=n_days, unit="day", desc=label, disable=not live, file=sys.stderr)
    t_start = time.perf_counter()

    def copy_state(d: int) -> None:
        for name in snap_days.get(d, []):
            snapshots[name] = _snapshot(people, int(sites.counters[0]))
        if copies is not None:
            copies.take(d, people)

    # On a cold cache, a second process compiles half of the kernels meanwhile (``warmup``).
    compile_engine(simulate, Sources(world, people, sellers_, sites, out, par, pop, keys))
    # The kernels get the state by reference (``structs``): the same arrays, one pointer each.
    refs = [as_ref(x) for x in (world, people, sellers_, sites, out)]
    with bar:
        for d0, d1 in zip(bounds[:-1], bounds[1:], strict=True):
            copy_state(d0)
            simulate(d0 * 24, d1 * 24, par, pop, keys, *refs, survey_t0, survey_t1)
            bar.update(d1 - d0)
            bar.set_postfix_str(str(scn.run.start + dt.timedelta(days=d1 - 1)))
    mark_compiled()
    if progress and not live:
        last = scn.run.start + dt.timedelta(days=n_days - 1)
        took = time.perf_counter() - t_start
        print(f"{label}: simulated {scn.run.start}..{last} in {took:.1f} s", file=sys.stderr)
    copy_state(n_days)
    if copies is not None and "survey_end" in snapshots:
        snapshots.update(copies.snapshots(int(sites.counters[0])))
    return RawRun(world, people, sellers_, sites, out, n_days, scn.run.start, snapshots)


def _snapshot(people: st.People, n_used: int) -> dict[str, np.ndarray]:
    """Copy the per-person attributes of the used slots (synthetic people only)."""
    return {name: getattr(people, name)[:n_used].copy() for name in st.PEOPLE_FIELDS}
