"""Where a result came from: scenelab's version and the source tree's git revision.

Both are computed once per process (a git subprocess per run would cost more than a short run).
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path


@functools.cache
def version() -> str:
    """Return the installed scenelab version (``"unknown"`` when not installed as a package)."""
    from importlib import metadata

    try:
        return metadata.version("scenelab")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def git_revision() -> str | None:
    """Return the source checkout's git revision (``-dirty`` if tracked files changed), or None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() and not (root.parent / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode != 0 or not head.stdout.strip():
            return None
        revision = head.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if dirty.returncode == 0 and dirty.stdout.strip():
            revision += "-dirty"
        return revision
    except (OSError, subprocess.SubprocessError):
        return None
