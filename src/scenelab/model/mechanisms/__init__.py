"""One module per mechanism, each with its literature anchor; the tick order is in phases.py."""

from scenelab.model.cache_guard import ensure_fresh_cache

ensure_fresh_cache()
