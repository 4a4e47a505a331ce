"""The one base class of every error a user can cause, and how an unexpected one is reported.

Everything a user can get wrong (a scenario or experiment file, a command-line value, an output
directory, an override) raises a subclass of :class:`ScenelabError`; the command line prints its
lines and exits 2 (1 for an invalid scenario, kept for compatibility with ``validate``). Anything
else is a bug: :func:`report_internal_error` saves the traceback to a file and prints one line.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback
from pathlib import Path


class ScenelabError(Exception):
    """An error caused by the user's input; ``lines()`` says what and where, one line each."""

    def lines(self) -> list[str]:
        """Return the message as lines, each naming the file or option it is about."""
        return str(self).splitlines() or [type(self).__name__]


class OutputError(ScenelabError):
    """An output directory or file cannot (or must not) be written."""


class ArgumentError(ScenelabError):
    """A command-line or API argument is out of range or malformed."""


def crash_dir() -> Path:
    """Return the folder where tracebacks of internal errors are saved."""
    base = os.environ.get("SCENELAB_CRASH_DIR")
    if base:
        return Path(base)
    return Path(tempfile.gettempdir()) / "scenelab-crashes"


def report_internal_error(exc: BaseException) -> str:
    """Save ``exc``'s traceback to a file and return a one-line message naming that file."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        folder = crash_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        fd, name = tempfile.mkstemp(dir=folder, prefix=f"crash-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        where = f"full trace saved to {name}"
    except OSError:
        where = "the trace could not be saved"
    summary = str(exc).splitlines()[0] if str(exc) else ""
    return (
        f"scenelab: internal error ({type(exc).__name__}: {summary[:200]}); {where}; "
        "please report it with that file"
    )


class OverrideError(ArgumentError, KeyError):
    """A parameter override names no parameter or has an invalid value."""

    def __str__(self) -> str:
        return Exception.__str__(self)  # not KeyError's quoted repr
