"""Small compiled helpers shared by the mechanisms."""

from __future__ import annotations

import math

import numpy as np

from scenelab.model.jit import njit

# Relative activity at open scenes by hour of day (mean 1): quiet at night, busiest afternoon
# and evening. [approx] Shape from fieldwork descriptions of "round-the-clock" scenes.
HOUR_PROFILE = np.array(
    [0.6, 0.45, 0.35, 0.25, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.2, 1.35,
     1.5, 1.6, 1.65, 1.65, 1.6, 1.55, 1.5, 1.4, 1.3, 1.15, 1.0, 0.8],
)  # fmt: skip
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.mean()
# Passers-by exposed to a scene by hour (footfall), mean 1.
DAYTIME = np.array(
    [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.4, 1.0, 1.6, 1.5, 1.4, 1.6,
     1.8, 1.7, 1.6, 1.7, 1.9, 1.8, 1.5, 1.2, 0.9, 0.6, 0.4, 0.2],
)  # fmt: skip
DAYTIME = DAYTIME / DAYTIME.mean()


# Indices into the population-composition vector ``pop`` (from the scenario file).
POP_WOMEN, POP_OPIOIDS, POP_STIMULANTS, POP_INJECT, POP_HOUSED, POP_TRUST, POP_TRUST_SD = range(7)
POP_TRAVEL_TOL = 7
N_POP = 8


@njit(cache=True, inline="always")
def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance in km: exact enough within a city, and cheap."""
    dx = (lon2 - lon1) * math.cos(math.radians(0.5 * (lat1 + lat2))) * 111.32
    dy = (lat2 - lat1) * 110.57
    return math.sqrt(dx * dx + dy * dy)


@njit(cache=True)
def km_matrix(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Return ``km`` between every pair of places (``World.site_km``)."""
    n = lat.shape[0]
    out = np.zeros((n, n))
    for a in range(n):
        for s in range(n):
            out[a, s] = km(lat[a], lon[a], lat[s], lon[s])
    return out


@njit(cache=True, inline="always")
def site_km(dist, lat, lon, a: int, s: int) -> float:  # noqa: ANN001
    """Return ``km`` from place ``a`` to place ``s``.

    From ``dist`` (``World.site_km``) when the world has the matrix, else from the coordinates.
    """
    if dist.shape[0] > 0:
        return dist[a, s]
    return km(lat[a], lon[a], lat[s], lon[s])


@njit(cache=True, inline="always")
def is_weekday(start_weekday: int, day: int) -> bool:
    """Return True if simulated ``day`` is Monday to Friday."""
    return (start_weekday + day) % 7 < 5


@njit(cache=True, inline="always")
def per_day_to_p(rate_per_day: float) -> float:
    """Convert a daily hazard to a one-day probability."""
    return 1.0 - math.exp(-rate_per_day)


@njit(cache=True)
def memory_of(mem_site: np.ndarray, mem_risk: np.ndarray, i: int, s: int) -> float:
    """Return person ``i``'s remembered police risk at site ``s`` (0 if not remembered)."""
    for k in range(mem_site.shape[1]):
        if mem_site[i, k] == s:
            return mem_risk[i, k]
    return 0.0


@njit(cache=True)
def remember(mem_site: np.ndarray, mem_risk: np.ndarray, i: int, s: int, amount: float) -> None:
    """Add ``amount`` to person ``i``'s memory of site ``s``, evicting the weakest memory."""
    weakest, weakest_val = 0, np.inf
    for k in range(mem_site.shape[1]):
        if mem_site[i, k] == s:
            mem_risk[i, k] += amount
            return
        if mem_risk[i, k] < weakest_val:
            weakest, weakest_val = k, mem_risk[i, k]
    mem_site[i, weakest] = s
    mem_risk[i, weakest] = amount
