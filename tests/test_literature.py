"""docs/literature.md lists every source behind a default and is generated from the code."""

from __future__ import annotations

from pathlib import Path

from scenelab.docs_odd import render_literature
from scenelab.model.params import PARAMETERS

DOC = Path(__file__).resolve().parents[1] / "docs" / "literature.md"


def test_literature_page_is_fresh_and_complete():
    assert DOC.read_text(encoding="utf-8") == render_literature(), (
        "docs/literature.md is out of date: scenelab odd --literature --out docs/literature.md"
    )
    text = DOC.read_text(encoding="utf-8")
    for spec in PARAMETERS:
        assert f"`{spec.name}`" in text and spec.source in text, spec.name


def test_docs_cite_no_files_outside_the_repository():
    root = DOC.parents[1]
    pages = [*root.joinpath("docs").glob("*.md"), root / "README.md"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for outside in ("../shared", "/work/shared", "DESIGN.md", "LITERATURE.md", "BRIEF.md"):
            assert outside not in text, f"{page.name} cites {outside}"
