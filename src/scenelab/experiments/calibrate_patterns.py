"""Pattern figures as calibration targets: resolve and check the ``PATTERN.figure`` names.

A calibration file that sets ``calibration.patterns`` may name the figures of a city's pattern
file as targets; each simulation then measures them with the code ``scenelab patterns`` uses.
This module finds the pattern file and checks every name before any run.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from scenelab.errors import ScenelabError
from scenelab.experiments.models import ScenelabModel
from scenelab.experiments.spec import CalibrationSpec, SpecError


def _load_pattern_source(spec: CalibrationSpec) -> tuple[str, list[Any]]:
    """The patterns ``calibration.patterns`` names: (name for messages, patterns)."""
    from scenelab.patterns import load_pattern_file, load_patterns

    ref = spec.calibration.patterns
    assert ref is not None
    where = "calibration.patterns"
    try:
        if ref.endswith(".patterns.toml"):
            path = Path(ref)
            if not path.is_absolute():
                path = spec.base_dir / path
            if not path.is_file():
                raise SpecError(spec.label, [(where, f"no pattern file {path}")])
            return str(path), load_pattern_file(path)
        prepared = ScenelabModel().prepare(ref, spec.base_dir)
        from scenelab.patterns import pattern_source

        found = pattern_source(prepared.payload)
        patterns = load_patterns(prepared.payload)
    except SpecError:
        raise
    except (OSError, ValueError, KeyError, ScenelabError) as exc:
        raise SpecError(spec.label, [(where, str(exc))]) from None
    if not patterns:
        raise SpecError(
            spec.label,
            [(where, f"scenario {ref!r} defines no observed patterns (no .patterns.toml)")],
        )
    return (found[0] if found else ref), patterns


def pattern_figures(spec: CalibrationSpec) -> dict[str, Any]:
    """The pattern figures a calibration's targets name (``PATTERN.figure``), checked.

    Args:
        spec: The calibration.

    Returns:
        ``{target name: scenelab.patterns.Figure}``; empty when the file sets no ``patterns``.

    Raises:
        SpecError: Naming the file and the key path, for an unknown figure (with the valid
            names), a figure measured on another scenario's runs, a figure whose window ends
            after ``calibration.until``, or a model other than scenelab.
    """
    cal = spec.calibration
    if cal.patterns is None:
        return {}
    if cal.model != "scenelab":
        raise SpecError(
            spec.label,
            [
                (
                    "calibration.patterns",
                    f"pattern figures need model = 'scenelab', not {cal.model!r}",
                )
            ],
        )
    from scenelab.patterns import figure_end, figure_names

    source, patterns = _load_pattern_source(spec)
    valid = figure_names(patterns)
    elsewhere = {p.id: p.run for p in patterns if p.run is not None}
    problems: list[tuple[str, str]] = []
    figures: dict[str, Any] = {}
    for name in spec.targets:
        if name in valid:
            end = figure_end(valid[name])
            if cal.until is not None and end is not None and end > cal.until:
                problems.append(
                    (
                        f"targets.{name}",
                        f"the figure reads up to {end}, after calibration.until {cal.until}",
                    )
                )
            figures[name] = valid[name]
            continue
        pid = name.split(".", 1)[0]
        if "." in name and pid in elsewhere:
            problems.append(
                (
                    f"targets.{name}",
                    f"pattern {pid} of {source} is measured on {elsewhere[pid]!r}'s runs, not on "
                    f"the calibrated scenario's; valid names: {', '.join(valid)}",
                )
            )
        elif "." in name:
            hint = difflib.get_close_matches(name, list(valid), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append(
                (
                    f"targets.{name}",
                    f"no such pattern figure in {source}{extra}; valid names: {', '.join(valid)}",
                )
            )
    if problems:
        raise SpecError(spec.label, problems)
    return figures
