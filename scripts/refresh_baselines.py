"""Deliberately refresh the regression baselines after an intended change to the model.

Run: .venv/bin/python scripts/refresh_baselines.py   (then review and commit the diff)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import scenelab

BASELINE = Path(__file__).resolve().parents[1] / "tests" / "baselines" / "bergen_2012q1_seed7.json"


def compute() -> dict[str, float]:
    """Return the outcomes the regression test pins."""
    res = scenelab.run("bergen", seed=7, until=dt.date(2012, 3, 31))
    return {k: round(v, 10) for k, v in sorted(res.outcomes.items())}


if __name__ == "__main__":
    BASELINE.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE}")
