"""Which stored pyabc run a calibration continues, and what the last invocation left unfinished.

Re-running a calibration command resumes the run stored under the same :func:`resume_key` in
``calibration.db``: what it fits, to what, with which model and code, but not when it stops.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from scenelab.experiments.models import Model
from scenelab.experiments.spec import CalibrationSpec

# Settings that only say when to stop (or how much to check afterwards): changing them continues
# the same calibration instead of starting a new one.
_STOPPING_FIELDS = (
    "max_generations",
    "min_epsilon",
    "min_acceptance_rate",
    "min_epsilon_diff",
    "max_walltime_minutes",
    "max_simulations",
    "posterior_predictive",
    "batch_size",
)


def resume_key(spec: CalibrationSpec, model: Model, scenario_hash: str) -> str:
    """Identity of a calibration: what it fits, to what, with which model and code.

    Two invocations with the same key continue one pyabc run; the stopping rule is not part of
    the key, so raising ``max_generations`` extends a finished run.

    Args:
        spec: The calibration file.
        model: The model being calibrated.
        scenario_hash: Content hash of the prepared scenario.

    Returns:
        64 hex characters.
    """
    import scenelab
    from scenelab.model.cache_guard import source_fingerprint

    data = spec.model_dump(mode="json")
    for field in _STOPPING_FIELDS:
        data["calibration"].pop(field, None)
    data["_model"] = {"name": model.name, "config": model.config()}
    data["_scenario_hash"] = scenario_hash
    data["_code"] = {"version": scenelab.__version__, "model_source": source_fingerprint()}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def find_resumable(db_path: Path, key: str) -> int | None:
    """Return the id of the newest pyabc run in ``db_path`` stored under ``key``, if any.

    Args:
        db_path: pyabc's SQLite database.
        key: A :func:`resume_key`.

    Returns:
        The pyabc run id, or None when there is no database or no such run.
    """
    if not db_path.exists():
        return None
    import pyabc

    history = pyabc.History(f"sqlite:///{db_path.resolve()}")
    for run in sorted(history.all_runs(), key=lambda r: r.id, reverse=True):
        # pyabc keeps the options as the text of a dict; the key is 64 hex characters.
        if f"'scenelab_resume_key': '{key}'" in (run.json_parameters or ""):
            return int(run.id)
    return None


def stored_unfinished(summary_path: Path, next_t: int) -> dict[str, Any] | None:
    """Return the generation a previous invocation stopped at its budget, if it is the next one.

    pyabc stores no generation that spent its budget of simulations (``abc_sampler``); the
    calibration summary records it. A resumed run that would start that same generation has
    met ``min_acceptance_rate`` already.

    Args:
        summary_path: ``calibration_summary.json`` of the calibration directory.
        next_t: The generation a resumed run would start (stored generations).

    Returns:
        ``t``, ``simulations`` and ``accepted`` of that generation, or None.
    """
    if not summary_path.exists():
        return None
    try:
        stopping = json.loads(summary_path.read_text(encoding="utf-8")).get("stopping") or {}
    except (OSError, ValueError):
        return None
    unfinished = stopping.get("unfinished_generation")
    if not isinstance(unfinished, dict) or unfinished.get("t") != next_t:
        return None
    return {k: int(unfinished[k]) for k in ("t", "simulations", "accepted")}
