"""Self-contained HTML pages of plotly figures (plotly.js inlined, no CDN)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_html_page(
    path: str | Path,
    title: str,
    sections: Sequence[tuple[str, str, Sequence[Any]]],
    intro: str = "",
) -> Path:
    """Write figures into one HTML file that works offline.

    The first figure carries plotly.js (``include_plotlyjs=True``); the rest
    reuse it.

    Args:
        path: Output file.
        title: Page title.
        sections: ``(heading, text, figures)`` per section; text is plain text.
        intro: Plain text under the title.

    Returns:
        The path written.
    """
    path = Path(path)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
        "padding:0 1em;color:#222}h2{margin-top:2em;border-bottom:1px solid #ddd}"
        "p{line-height:1.45}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if intro:
        parts.extend(f"<p>{html.escape(p)}</p>" for p in intro.split("\n\n"))
    first = True
    for heading, text, figures in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if text:
            parts.extend(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
        for fig in figures:
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first))
            first = False
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
