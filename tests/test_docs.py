"""The documentation stays in step with the code: ODD, scenario format, and the example city."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

import scenelab
from scenelab.docs_odd import render_odd
from scenelab.model.params import PARAMETERS
from scenelab.scenario import schema as sc

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "ODD.md"
FORMAT = ROOT / "docs" / "scenario-format.md"
EXAMPLE = ROOT / "examples" / "small_city.toml"


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """Every pydantic model inside a type annotation (through Annotated, unions, lists, dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _all_models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model reachable from its fields, each once, in discovery order."""
    seen: list[type[BaseModel]] = []
    stack = [root]
    while stack:
        model = stack.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            stack += _models_in(field.annotation)
    return seen


def test_odd_md_is_up_to_date():
    expected = render_odd()
    actual = ODD.read_text(encoding="utf-8") if ODD.exists() else ""
    assert actual == expected, (
        "docs/ODD.md is out of date with the code (parameters, state variables, phases or the "
        "prose in src/scenelab/docs_odd.py changed). Regenerate it with: "
        "scenelab odd --out docs/ODD.md"
    )


def test_odd_has_no_missing_descriptions():
    text = render_odd()
    assert "no description yet" not in text, (
        "a state variable, metric, stream or phase has no description in src/scenelab/docs_odd.py"
    )


def test_every_parameter_is_in_the_odd():
    text = ODD.read_text(encoding="utf-8")
    missing = [p.name for p in PARAMETERS if f"`{p.name}`" not in text]
    assert not missing, f"parameters missing from docs/ODD.md: {missing}"


def test_schema_walk_reaches_every_union_member():
    models = _all_models(sc.Scenario)
    intervention_members = typing.get_args(typing.get_args(sc.Intervention)[0])
    service_members = typing.get_args(typing.get_args(sc.Service)[0])
    assert set(intervention_members) | set(service_members) <= set(models)
    assert {sc.HourWindow, sc.ParamEntry, sc.Survey, sc.SubstanceMix} <= set(models)


def test_every_schema_field_is_documented():
    text = FORMAT.read_text(encoding="utf-8")
    missing = sorted(
        {
            f"{model.__name__}.{name}"
            for model in _all_models(sc.Scenario)
            for name in model.model_fields
            if f"`{name}`" not in text
        }
    )
    assert not missing, f"fields missing from docs/scenario-format.md: {missing}"


def test_every_intervention_type_and_service_kind_is_documented():
    text = FORMAT.read_text(encoding="utf-8")
    for tag in sc.INTERVENTION_TYPES:
        assert f'`type = "{tag}"`' in text, tag
    for tag in sc.SERVICE_KINDS:
        assert f'`kind = "{tag}"`' in text, tag


def test_variant_keys_are_documented():
    from scenelab.scenario import loader

    text = FORMAT.read_text(encoding="utf-8")
    assert "[variant]" in text
    for key in getattr(loader, "_VARIANT_KEYS", ()):
        assert f"`{key}`" in text, key


def test_example_city_loads():
    scn = scenelab.load_scenario(EXAMPLE)
    assert scn.name == "small_city"
    kinds = {s.kind for s in scn.services}
    types = {iv.type for iv in scn.interventions}
    assert {"drop_in", "injection_room"} <= kinds
    assert {"close_site", "police_plan", "expulsion_policy", "open_service"} <= types
    assert len(scn.neighbourhoods) == 2 and len(scn.sites) == 3


def test_example_in_the_format_page_is_the_example_file():
    text = FORMAT.read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks, (
        "the annotated example in docs/scenario-format.md differs from examples/small_city.toml"
    )
