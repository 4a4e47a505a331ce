"""The model's ODD protocol description (Grimm et al. 2020, ODD+2), rendered as Markdown.

The prose is Markdown: the frame in ``odd_template.md`` (beside this module) and one sub-model text
per mechanism, ``model/mechanisms/<name>.md``. Every table (state variables, tick order, random
streams, recorded metrics, parameters) is generated from the code and data that define it and
replaces a ``{{placeholder}}`` line of the template, so the description cannot drift from the
model: ``docs/ODD.md`` is the output of :func:`render_odd` (``scenelab odd --out docs/ODD.md``) and
a test checks that the file is up to date.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from scenelab.model import state as st
from scenelab.model import world as wd
from scenelab.model.metrics import CITY_DAY, SITE_DAY, metrics
from scenelab.model.params import MECHANISM_DIR, PARAMETERS, ParamSpec, parameter_readers
from scenelab.model.phases import phases
from scenelab.model.rng import STREAMS

TEMPLATE = Path(__file__).with_name("odd_template.md")
_MISSING = "(no description yet)"


def _cell(value: object) -> str:
    """Return ``value`` as a Markdown table cell (pipes escaped, newlines removed)."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a Markdown table.

    Args:
        header: Column titles.
        rows: Rows of cells, each as long as ``header``.

    Returns:
        The table, ending with a newline.
    """
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """Format a number compactly and deterministically (``%g``)."""
    return f"{value:g}"


def _dtype_name(dtype: object) -> str:
    """Return a NumPy dtype's short name (``int8``, ``float64``)."""
    return getattr(dtype, "__name__", str(dtype))


def module_docstring(module: str) -> str:
    """Return the docstring of mechanism module ``module``, read from its source (not imported).

    Args:
        module: Module name inside ``scenelab.model.mechanisms`` (e.g. ``"policing"``).

    Returns:
        The docstring, or an empty string if the module has none.
    """
    source = (MECHANISM_DIR / f"{module}.py").read_text(encoding="utf-8")
    return ast.get_docstring(ast.parse(source)) or ""


def parameter_table(specs: Iterable[ParamSpec]) -> str:
    """Return the Markdown table of parameters: name, default, unit, prior, source, description.

    Args:
        specs: Parameters from the registry, in the order to list them.
    """
    return _table(
        ("parameter", "default", "unit", "prior range", "source", "description"),
        (
            (
                f"`{p.name}`",
                _default(p),
                p.unit,
                f"[{_number(p.low)}, {_number(p.high)}]",
                p.source,
                p.description,
            )
            for p in specs
        ),
    )


def _default(p: ParamSpec) -> str:
    """Return a default as printed: a calibrated one with the value it replaced."""
    if p.calibrated:
        return f"{_number(p.default)} (from {_number(p.start)})"
    return _number(p.default)


def _fields_table(fields: dict[str, tuple[type, float, str]]) -> str:
    return _table(
        ("variable", "dtype", "unused slot", "meaning"),
        (
            (f"`{name}`", _dtype_name(dtype), _number(fill), meaning)
            for name, (dtype, fill, meaning) in fields.items()
        ),
    )


def _matrices(matrices: dict[str, tuple[int, str]]) -> str:
    return _table(
        ("variable", "columns", "meaning"),
        ((f"`{name}`", cols, meaning) for name, (cols, meaning) in matrices.items()),
    )


def _site_table() -> str:
    return _table(
        ("variable", "meaning"),
        ((f"`{name}`", meaning) for name, meaning in st.SITE_FIELDS.items()),
    )


def _phase_table() -> str:
    return _table(
        ("#", "phase", "module", "why it sits here"),
        (
            (k, p.name, f"`mechanisms/{p.module}.py`", p.reason)
            for k, p in enumerate(phases(), start=1)
        ),
    )


def _timing_table() -> str:
    return _table(
        ("phase", "every hour", "once a day"),
        ((p.name, *p.timing) for p in phases()),
    )


def _stream_table() -> str:
    return _table(("stream", "draws"), ((f"`{k}`", v) for k, v in STREAMS.items()))


def _metric_table(table: str) -> str:
    return _table(("metric", "meaning"), ((f"`{m.name}`", m.meaning) for m in metrics(table)))


def _fill(text: str) -> str:
    """Replace the ``<CONSTANT>`` placeholders in prose with the model's current constants."""
    for name in ("K_KNOWN", "M_MEMORY", "N_SERVICE_SITES"):
        text = text.replace(f"<{name}>", str(getattr(st, name)))
    return text.replace("<K_NEAR>", str(wd.K_NEAR))


def submodel_text(module: str) -> str:
    """Return the ODD sub-model prose of a mechanism (``mechanisms/<module>.md``)."""
    path = MECHANISM_DIR / f"{module}.md"
    return path.read_text(encoding="utf-8").rstrip("\n") if path.exists() else _MISSING


def _submodels() -> str:
    readers = parameter_readers()
    parts = []
    for k, phase in enumerate(phases(), start=1):
        doc = module_docstring(phase.module)
        summary = doc.split("\n\n")[0].replace("\n", " ").strip()
        parts.append(f"### 7.{k} {phase.name} (`mechanisms/{phase.module}.py`)\n")
        if summary:
            parts.append(f"*Module summary:* {summary}\n")
        parts.append(_fill(submodel_text(phase.module)) + "\n")
        used = [p for p in PARAMETERS if phase.module in readers.get(p.name, [])]
        if used:
            parts.append(f"Parameters read by `{phase.module}`:\n")
            parts.append(parameter_table(used))
        else:
            parts.append(f"`{phase.module}` reads no model parameter.\n")
    return "\n".join(parts)


def _registry() -> str:
    readers = parameter_readers()
    parts = []
    for module in dict.fromkeys(p.mechanism for p in PARAMETERS):
        parts.append(f"**{module}** (`mechanisms/{module}.toml`)\n")
        parts.append(
            _table(
                ("parameter", "default", "unit", "prior range", "read by"),
                (
                    (
                        f"`{p.name}`",
                        _default(p),
                        p.unit,
                        f"[{_number(p.low)}, {_number(p.high)}]",
                        ", ".join(readers.get(p.name, [])) or "(no module reads it)",
                    )
                    for p in PARAMETERS
                    if p.mechanism == module
                ),
            )
        )
    return "\n".join(parts)


#: The generated tables, by the placeholder (``{{name}}``, alone on a line) they replace.
GENERATED: dict[str, Callable[[], str]] = {
    "people": lambda: _fields_table(st.PEOPLE_FIELDS),
    "people_matrices": lambda: _matrices(st.PEOPLE_MATRICES),
    "sellers": lambda: _fields_table(st.SELLER_FIELDS),
    "seller_matrices": lambda: _matrices(st.SELLER_MATRICES),
    "sites": _site_table,
    "phases": _phase_table,
    "timing": _timing_table,
    "streams": _stream_table,
    "site_day_metrics": lambda: _metric_table(SITE_DAY),
    "city_day_metrics": lambda: _metric_table(CITY_DAY),
    "submodels": _submodels,
    "registry": _registry,
}


def render_odd() -> str:
    """Return the full ODD description of the model as Markdown.

    The result is deterministic (no dates or paths), so ``docs/ODD.md`` can be checked against it.

    Returns:
        The Markdown text, ending with a single newline.

    Raises:
        ValueError: If the template has a placeholder with no generator, or lacks one.
    """
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        key = line.strip()[2:-2] if line.startswith("{{") and line.endswith("}}") else None
        if key is None:
            out.append(line)
            continue
        if key not in GENERATED:
            raise ValueError(f"odd_template.md: unknown placeholder {{{{{key}}}}}")
        seen.add(key)
        out.append(GENERATED[key]().rstrip("\n"))
    if seen != set(GENERATED):
        raise ValueError(f"odd_template.md lacks {sorted(set(GENERATED) - seen)}")
    return "\n".join(out).rstrip("\n") + "\n"


def render_literature() -> str:
    """Return ``docs/literature.md``: every source behind a parameter default, with its users.

    Generated from the parameter files (``mechanisms/*.toml``), so it cannot drift from them.

    Returns:
        The Markdown text, ending with a single newline.
    """
    by_source: dict[str, list[str]] = {}
    for spec in PARAMETERS:
        by_source.setdefault(spec.source, []).append(spec.name)
    lines = [
        "# Sources of the model's defaults",
        "",
        "<!-- Generated by `scenelab odd --literature --out docs/literature.md`; do not edit. -->",
        "",
        "Every model parameter's default comes from one of the sources below, or is marked as an",
        "assumption (a stated prior for calibration). **[approx]** marks a value read from a",
        "figure, rounded, or carried over from a related population; such defaults are priors",
        "that calibration may move (`docs/calibration-bergen.md`). The harm weights and equity",
        "indices have their own sources in `docs/harm-and-equity.md`. Per parameter, with unit",
        "and prior range: `docs/ODD.md` section 7 or `scenelab params --json`.",
        "",
        f"{len(by_source)} sources, {len(PARAMETERS)} parameters.",
        "",
    ]
    for source in sorted(by_source, key=str.lower):
        names = ", ".join(f"`{n}`" for n in by_source[source])
        lines.append(f"- {source}  \n  used for: {names}")
    return "\n".join(lines) + "\n"
