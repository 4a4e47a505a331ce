"""Give every version of the model's source its own Numba cache directory.

Numba freezes module-level globals (parameter indices, state codes) and compiled callees into a
function's cached machine code, but invalidates that cache only when the *function's own* file
changes. After an edit to a parameter file (``mechanisms/*.toml``) or to a mechanism, the
engine's cached loop would still run the old code - and a process started before the edit can
even write old code back into the cache. Keying the cache directory by a fingerprint of every
model source and parameter file rules both out.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).parent


def source_fingerprint() -> str:
    """Return a SHA-256 over the path and content of every model source and parameter file."""
    digest = hashlib.sha256()
    for path in sorted([*_HERE.rglob("*.py"), *_HERE.rglob("*.toml")]):
        digest.update(path.relative_to(_HERE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def configure_cache() -> Path | None:
    """Point Numba's cache at a directory named after the source fingerprint.

    Honours an explicit ``NUMBA_CACHE_DIR``; otherwise uses ``$SCENELAB_CACHE_DIR`` or
    ``~/.cache/scenelab/numba``. Must run before any compiled function is defined.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    import numba

    base = Path(os.environ.get("SCENELAB_CACHE_DIR", Path.home() / ".cache" / "scenelab" / "numba"))
    target = base / source_fingerprint()[:16]
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # unwritable home: Numba falls back to __pycache__ next to the sources
    numba.config.CACHE_DIR = str(target)
    return target
