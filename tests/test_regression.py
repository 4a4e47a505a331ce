"""Exact regression baseline: a change that moves these numbers must be deliberate.

Refresh with `python scripts/refresh_baselines.py` and explain the change in the commit.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_outcomes_match_baseline():
    spec = importlib.util.spec_from_file_location(
        "refresh", ROOT / "scripts" / "refresh_baselines.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = json.loads(module.BASELINE.read_text())
    actual = module.compute()
    changed = {
        k: (expected.get(k), actual.get(k))
        for k in set(expected) | set(actual)
        if expected.get(k) != actual.get(k)
    }
    assert not changed, f"outcomes moved (refresh deliberately if intended): {changed}"
