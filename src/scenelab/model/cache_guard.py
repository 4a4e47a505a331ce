"""Keep Numba's on-disk cache honest about constants compiled in from other modules.

Numba freezes module-level globals (parameter indices, state codes) and compiled callees into a
function's cached machine code, but invalidates that cache only when the *function's own* file
changes. Editing ``params.py`` or a mechanism would otherwise leave the engine running stale code.
We fingerprint every source file of the model and drop the model's cache when any changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_HERE = Path(__file__).parent


def ensure_fresh_cache() -> None:
    """Delete the model's Numba cache files if any model source file changed."""
    digest = hashlib.sha256()
    for path in sorted(_HERE.rglob("*.py")):
        digest.update(path.relative_to(_HERE).as_posix().encode())
        digest.update(path.read_bytes())
    stamp = _HERE / "__pycache__" / "scenelab_constants.sha256"
    current = digest.hexdigest()
    try:
        if stamp.read_text() == current:
            return
    except OSError:
        pass
    for pattern in ("*.nbi", "*.nbc"):
        for path in _HERE.rglob(f"__pycache__/{pattern}"):
            path.unlink(missing_ok=True)
    try:
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(current)
    except OSError:
        pass  # a read-only install simply recompiles
