"""Read TOML input files (scenarios, experiments) safely: UTF-8, bounded size, depth and numbers.

``tomllib`` only parses data (nothing is ever evaluated), but some inputs make it or the code
after it fail in ways a user cannot read: bytes that are not UTF-8, tables nested hundreds deep
(``RecursionError``), integers of thousands of digits. This module turns each into one clear
problem naming the file.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Largest input file read (8 MiB): a scenario of thousands of places is well under 1 MiB."""

MAX_DEPTH = 12
"""Deepest nesting of tables and arrays; the deepest valid scenario key path has 5 levels."""

MAX_ABS_INT = 2**53
"""Largest integer magnitude accepted anywhere (exact as a float, fits every engine array)."""


class TomlProblem(Exception):
    """A TOML input cannot be read; ``path`` is the key path (empty for the whole file)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def decode(data: bytes) -> str:
    """Return ``data`` decoded as UTF-8.

    Raises:
        TomlProblem: Naming the byte offset and line of the first byte that is not UTF-8.
    """
    if len(data) > MAX_FILE_BYTES:
        raise TomlProblem("", f"file is {len(data):,} bytes; at most {MAX_FILE_BYTES:,} are read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TomlProblem(
            "",
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}); "
            "save the file as UTF-8",
        ) from None


def loads(text: str) -> dict[str, Any]:
    """Parse TOML text and check its shape: bounded nesting and integers, finite floats allowed.

    Raises:
        TomlProblem: If the text is not TOML, is nested too deep or holds a too-large integer.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlProblem("", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise TomlProblem("", f"nested too deep; at most {MAX_DEPTH} levels are allowed") from None
    except ValueError as exc:  # e.g. an integer beyond Python's 4300-digit conversion limit
        raise TomlProblem("", f"not readable TOML: {exc}") from None
    check_shape(data)
    return data


def read(path: Path) -> dict[str, Any]:
    """Read and parse a TOML file (see :func:`loads`).

    Raises:
        TomlProblem: If the file cannot be read or parsed; ``OSError`` text is included.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TomlProblem("", f"cannot read file: {exc.strerror or exc}") from None
    return loads(decode(data))


def _key(prefix: str, part: object) -> str:
    if isinstance(part, int):
        return f"{prefix}[{part}]"
    return f"{prefix}.{part}" if prefix else str(part)


def check_shape(data: object, prefix: str = "", depth: int = 0) -> None:
    """Raise :class:`TomlProblem` at the first over-deep nesting or out-of-range integer."""
    if depth > MAX_DEPTH:
        raise TomlProblem(prefix, f"nested too deep; at most {MAX_DEPTH} levels are allowed")
    if isinstance(data, dict):
        for key, value in data.items():
            check_shape(value, _key(prefix, key), depth + 1)
    elif isinstance(data, list):
        for k, value in enumerate(data):
            check_shape(value, _key(prefix, k), depth + 1)
    elif isinstance(data, int) and not isinstance(data, bool) and abs(data) > MAX_ABS_INT:
        raise TomlProblem(
            prefix, f"integer {_short(data)} is too large; the limit is +-2^53 ({MAX_ABS_INT:,})"
        )


def _short(value: int) -> str:
    if value.bit_length() <= 64:
        return str(value)
    return f"of about {int(value.bit_length() * math.log10(2)) + 1} digits"
