"""The simulation: state (struct of arrays), phases, mechanisms and the compiled engine."""

from scenelab.model.cache_guard import configure_cache

configure_cache()
