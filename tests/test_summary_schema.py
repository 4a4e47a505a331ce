"""summary.json of `run` and `compare` validates against its published JSON Schema."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from scenelab.cli import main


def _schema(name: str) -> dict:
    return json.loads(resources.files("scenelab.schemas").joinpath(name).read_text("utf-8"))


@pytest.mark.parametrize("name", ["summary_run.schema.json", "summary_compare.schema.json"])
def test_schemas_are_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(_schema(name))


def test_run_summary_validates(tmp_path):
    out = tmp_path / "run"
    args = ["run", "bergen", "--out", str(out), "--until", "2012-01-20", "--replicates", "2"]
    assert main([*args, "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    jsonschema.validate(summary, _schema("summary_run.schema.json"))
    # A summary that breaks the schema is caught (the test can fail).
    broken = {**summary, "seed": -1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _schema("summary_run.schema.json"))


@pytest.mark.slow
def test_compare_summary_validates(tmp_path):
    out = tmp_path / "cmp"
    args = ["compare", "bergen", "bergen-no-closure", "--out", str(out), "--until", "2012-01-20"]
    assert main([*args, "--replicates", "2", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    jsonschema.validate(summary, _schema("summary_compare.schema.json"))
    assert {d["scenario"] for d in summary["differences"]} == {"bergen", "bergen-no-closure"}
