"""The one place the model takes Numba's decorator from, after pointing the cache at its directory.

Every compiled module imports ``njit`` from here, so the cache directory (keyed by a fingerprint of
the model's sources and data, ``cache_guard``) is set before the first kernel is defined, and
importing the light parts of the model (parameter registry, phase order) configures nothing.
"""

from scenelab.model.cache_guard import configure_cache

configure_cache()

from numba import njit  # noqa: E402  (the cache must be configured first)

__all__ = ["njit"]
