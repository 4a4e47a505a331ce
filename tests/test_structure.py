"""The code's structure: no import cycles, small modules, and every declaration in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from scenelab.model import metrics
from scenelab.model.params import PARAMETERS, SOURCES, load_parameters, parameter_readers
from scenelab.model.phases import LOOP_NAMES, PHASE_ORDER, Phase

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "scenelab"
MAX_LINES = 600
# Modules allowed over MAX_LINES, with the reason. Generated tables would go here too.
OVERSIZE: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every scenelab module ``name`` imports, at module level or inside functions."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in MODULES else mod)
    return {m for m in found if m in MODULES and m != name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the scenelab modules it imports (explicit imports only)."""
    return {name: _imports(name, path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_src_has_no_import_cycles():
    graph = import_graph()
    assert graph["scenelab.experiments.models"] >= {"scenelab.experiments.toys"}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_no_module_is_too_long():
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and name not in OVERSIZE
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_parameter_is_read_by_the_mechanism_that_declares_it():
    readers = parameter_readers()
    wrong = {
        p.name: readers.get(p.name, [])
        for p in PARAMETERS
        if p.mechanism not in readers.get(p.name, [])
    }
    assert not wrong, f"parameters not read by their declaring mechanism (readers shown): {wrong}"
    assert set(readers) <= {p.name for p in PARAMETERS}


def test_every_source_is_cited_and_no_source_names_a_file():
    cited = {p.source for p in PARAMETERS}
    assert set(SOURCES.values()) == cited
    for text in cited:
        assert ".md" not in text and "BRIEF" not in text, text


def test_parameter_files_reject_mistakes(tmp_path):
    (tmp_path / "violence.toml").write_text(
        '[parameters]\nx = { default = 2.0, unit = "count", low = 0.0, high = 1.0, '
        'source = "a", text = "t" }\n[sources]\na = "A 2020"\n'
    )
    with pytest.raises(ValueError, match="outside"):
        load_parameters(tmp_path)
    (tmp_path / "violence.toml").write_text(
        '[parameters]\nx = { default = 0.5, unit = "count", low = 0.0, high = 1.0, '
        'source = "b", text = "t" }\n[sources]\na = "A 2020"\n'
    )
    with pytest.raises(ValueError, match="unknown source"):
        load_parameters(tmp_path)
    (tmp_path / "violence.toml").unlink()
    (tmp_path / "nonsense.toml").write_text("[parameters]\n")
    with pytest.raises(ValueError, match="no phase"):
        load_parameters(tmp_path)


def test_every_metric_is_recorded_by_the_mechanism_that_declares_it():
    recorded = metrics.metrics_recorded()
    wrong = {
        m.name: recorded.get((m.table, m.name), [])
        for m in metrics.METRICS
        if m.recorded_by not in recorded.get((m.table, m.name), [])
    }
    assert not wrong, f"metrics not recorded by their declaring mechanism: {wrong}"
    assert set(recorded) <= {(m.table, m.name) for m in metrics.METRICS}


def test_every_phase_declares_itself():
    mech = PACKAGE / "model" / "mechanisms"
    for module in PHASE_ORDER:
        tree = ast.parse((mech / f"{module}.py").read_text(encoding="utf-8"))
        names = {
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert {"PHASE_REASON", "TIMING"} <= names and "step" in funcs, module
        assert (mech / f"{module}.md").exists(), f"{module} has no ODD text ({module}.md)"


def test_a_new_phase_is_one_list_entry_in_the_generated_loop():
    """A toy mechanism's kernel joins the loop with the arguments its signature names."""
    from scenelab.model.engine import simulate_source
    from scenelab.model.phases import phases

    def step(t, day, X, R):  # noqa: ANN001, ANN202 - a toy kernel
        return None

    toy = Phase(
        "toy", "toy", "after violence, before services", step, ("t", "day", "X", "R"), ("-", "-")
    )
    order = list(phases())
    order.insert(PHASE_ORDER.index("services"), toy)
    source = simulate_source(phase_list=order)
    calls = [ln.strip() for ln in source.splitlines() if ln.strip().startswith("_step_")]
    assert calls[PHASE_ORDER.index("services")] == "_step_toy(t, day, X, R)"
    assert len(calls) == len(PHASE_ORDER) + 1
    assert set(toy.args) <= set(LOOP_NAMES)


def test_validating_a_scenario_loads_no_numba():
    code = (
        "import sys, scenelab\n"
        "from scenelab.scenario.validate import resolved_parameters\n"
        "resolved_parameters(scenelab.load_scenario('bergen'))\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(SRC)})


def test_a_mechanism_declares_its_own_people_state(tmp_path):
    import pytest

    from scenelab.model.phases import PHASE_ORDER
    from scenelab.model.state import declared_people_fields

    module = PHASE_ORDER[0]
    (tmp_path / f"{module}.toml").write_text(
        "[state.people]\n"
        'shelter_nights = { dtype = "int32", fill = 0, text = "nights in a shelter" }\n'
    )
    fields = declared_people_fields(tmp_path)
    assert list(fields) == ["shelter_nights"]
    assert fields["shelter_nights"][2] == "nights in a shelter"
    (tmp_path / f"{module}.toml").write_text(
        '[state.people]\nsex = { dtype = "int8", fill = 0, text = "again" }\n'
    )
    with pytest.raises(ValueError, match="declared twice"):
        declared_people_fields(tmp_path)
    (tmp_path / f"{module}.toml").write_text(
        '[state.people]\nx = { dtype = "complex", fill = 0, text = "?" }\n'
    )
    with pytest.raises(ValueError, match="needs dtype"):
        declared_people_fields(tmp_path)
