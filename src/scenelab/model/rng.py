"""Named random streams with common random numbers, counter-based so draws never shift.

Each stochastic process draws from its own stream, keyed by (run seed, replicate, stream name).
A draw is a pure hash of (stream key, tick, entity, slot) -> uniform [0, 1) (SplitMix64 finaliser,
Steele et al. 2014). Because a draw depends only on its coordinates, two scenarios run with the same
seed see the same draw for the same person at the same hour in the same process: they differ by
policy, not noise, and adding a process or a person never shifts anyone else's draws.

Rare per-person events are found by a skip chain over person indices (``skip``): the people whose
index the chain visits at tick ``t`` are independent Bernoulli(``p``) candidates, so a phase pays
for the candidates, not for everyone, and thins them to each person's own chance. Above
``DENSE_ABOVE`` everyone is a candidate (``candidate_chance``): a skip would cost more there.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from scenelab.model.jit import njit

#: The named streams, in key order, with what each one draws.
STREAMS: dict[str, str] = {
    "init": "the initial population and sellers (seeds a NumPy generator, used before tick 0)",
    "entry": "number of entrants per day and each entrant's attributes",
    "exit": "daily exit of each person",
    "attendance": "arriving, leaving and reconsidering (per person and hour)",
    "site_choice": "the logit draw of a person's site",
    "sellers": "sellers' reconsidering and site choice, arrivals and exits of travelling sellers",
    "police": "controls of people and sellers and their consequences",
    "raids": "whether and when a reactive raid happens (per site and day)",
    "injection": "injecting, injection-room use, public and unsafe injection",
    "overdose": "overdose and death given an injection",
    "violence": "incidents per site and hour, their victims and whether sexual",
    "witness": "whether each person present witnesses an incident",
    "private_violence": "daily violence in private places",
    "services": "help at sites, OAT and housing applications, dropout, loss, random allocation",
    "discovery": "word of mouth about places and scouting for new places by displaced people",
    "offender": "the offender type of each incident at a site",
    "street_violence": "violence against unhoused people in public off the scene sites",
    "taste": "each person's own weights of footfall and concealment (drawn once, by person)",
}
S_INIT = 0
S_ENTRY = 1
S_EXIT = 2
S_ATTEND = 3
S_CHOICE = 4
S_SELLERS = 5
S_POLICE = 6
S_RAIDS = 7
S_INJECT = 8
S_OVERDOSE = 9
S_VIOLENCE = 10
S_WITNESS = 11
S_PRIVATE = 12
S_SERVICES = 13
S_DISCOVERY = 14
S_OFFENDER = 15
S_STREET = 16
S_TASTE = 17

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G1 = np.uint64(0x9E3779B97F4A7C15)
_G2 = np.uint64(0xD1B54A32D192ED03)
_G3 = np.uint64(0xA24BAED4963EE407)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


def stream_keys(seed: int, replicate: int) -> np.ndarray:
    """Return one 64-bit key per named stream for a run's seed and replicate."""
    keys = np.empty(len(STREAMS), dtype=np.uint64)
    for i, name in enumerate(STREAMS):
        digest = hashlib.blake2b(f"{seed}/{replicate}/{name}".encode(), digest_size=8).digest()
        keys[i] = np.uint64(int.from_bytes(digest, "little"))
    return keys


def init_generator(keys: np.ndarray) -> np.random.Generator:
    """Return a NumPy generator for set-up draws (the initial population) from the init stream."""
    return np.random.default_rng(int(keys[S_INIT]))


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, t: int, i: int, j: int) -> float:
    """Return the uniform draw of stream ``key`` at tick ``t`` for entity ``i``, slot ``j``."""
    z = _mix(key ^ (np.uint64(t) * _G1))
    z = _mix(z ^ (np.uint64(i) * _G2) ^ (np.uint64(j) * _G3))
    return float(z >> _S11) * _INV53


@njit(cache=True, inline="always")
def bits53(key: np.uint64, t: int, i: int, j: int) -> int:
    """Return the 53 random bits of :func:`uniform`'s draw: ``uniform == bits53 / 2**53``.

    For hot loops that compare a draw with a fixed chance: ``uniform(...) < p`` holds exactly
    when ``bits53(...) < below53(p)``, an integer compare instead of a conversion and a multiply.
    """
    z = _mix(key ^ (np.uint64(t) * _G1))
    z = _mix(z ^ (np.uint64(i) * _G2) ^ (np.uint64(j) * _G3))
    return np.int64(z >> _S11)


@njit(cache=True, inline="always")
def below53(p: float) -> int:
    """Return the integer ``n`` for which ``bits53(...) < n`` exactly when ``uniform(...) < p``.

    ``uniform`` is ``b / 2**53`` for an integer ``b`` below ``2**53``, and ``p x 2**53`` is exact
    (a power of two), so ``b / 2**53 < p`` is ``b < ceil(p x 2**53)``. 0 for ``p <= 0`` or NaN (no
    draw is below), ``2**53`` for ``p >= 1`` (every draw is).
    """
    if not p > 0.0:
        return 0
    if p >= 1.0:
        return 9007199254740992
    return np.int64(math.ceil(p * 9007199254740992.0))


#: Slot of the skip chain's draws: far above any slot a mechanism uses for its own draws.
SLOT_SKIP = 1 << 30


#: Above this candidate chance a phase visits every slot (``candidate_chance``): a skip costs
#: about 30 ns (a hash and a log, each gap waiting on the last), a slot's plain test a few.
DENSE_ABOVE = 0.05


@njit(cache=True, inline="always")
def candidate_chance(p_max: float) -> float:
    """Return the chance at which :func:`skip` should pick candidates for largest chance ``p_max``.

    ``p_max`` itself when small; 1 (every slot a candidate, each thinned by its own draw, the same
    rule as a loop over everyone) above :data:`DENSE_ABOVE`, where a skip would cost more than it
    saves. The switch depends only on the chance, never on the state, so common random numbers
    hold either way.
    """
    return p_max if p_max <= DENSE_ABOVE else 1.0


@njit(cache=True, inline="always")
def skip_scale(p: float) -> float:
    """Return ``1 / log(1 - p)``, the scale of :func:`skip`'s gaps for candidate chance ``p``.

    0 for ``p >= 1`` (every index is a candidate) and ``-inf`` for ``p <= 0`` (none is).
    """
    if p >= 1.0:
        return 0.0
    if p <= 0.0:
        return -math.inf
    return 1.0 / math.log1p(-p)


@njit(cache=True, inline="always")
def skip(key: np.uint64, t: int, pos: int, scale: float, n: int) -> int:
    """Return the next candidate index after ``pos`` (``n`` or more if none below ``n``).

    The gap is geometric, ``floor(log(1 - u) x scale)`` failures with ``scale = 1 / log(1 - p)``
    (:func:`skip_scale`), from the draw at index ``pos + 1`` and slot :data:`SLOT_SKIP`: every
    index below ``n`` is a candidate independently with chance ``p``, and the candidates at a
    tick depend only on the stream key and the tick, never on who is where. Start at ``pos=-1``.
    """
    if scale == 0.0:
        return pos + 1
    if scale == -math.inf:
        return n
    # 1 - u is exact (u is a multiple of 2^-53), and log is cheaper than log1p.
    gap = math.log(1.0 - uniform(key, t, pos + 1, SLOT_SKIP)) * scale
    if gap >= n - pos:
        return n
    return pos + 1 + int(gap)


@njit(cache=True, inline="always")
def next_candidate(  # noqa: PLR0913
    key: np.uint64,
    t: int,
    i: int,
    q: int,
    scale: float,
    active: np.ndarray,
    n_active: int,
    n_used: int,
) -> tuple[int, int]:
    """Return ``(i, q)``: the candidate after person slot ``i`` (``n_used`` when none is left).

    With ``scale == 0`` (candidate chance 1, :func:`candidate_chance`) every person is a
    candidate: the slots are read from the ascending active list ``active[:n_active]``, ``q``
    being the position in it, which skips the slots of people who left without a draw. Otherwise
    from the skip chain (:func:`skip`). Start with ``i = q = -1``.
    """
    if scale == 0.0:
        q += 1
        return (active[q] if q < n_active else n_used), q
    return skip(key, t, i, scale, n_used), q


@njit(cache=True, inline="always")
def poisson(lam: float, u: float) -> int:
    """Return a Poisson(``lam``) count by inversion of one uniform ``u`` (small ``lam``)."""
    if lam <= 0.0:
        return 0
    p = math.exp(-lam)
    cdf = p
    k = 0
    while u > cdf and k < 10_000:
        k += 1
        p *= lam / k
        cdf += p
    return k
