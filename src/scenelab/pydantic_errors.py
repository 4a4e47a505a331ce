"""One formatter for pydantic validation errors: key path, what is wrong, what would be valid.

Scenario files and experiment/calibration files are both closed pydantic schemas; their errors
reach the user through :func:`problems`, so every file names a key and its valid choices the same
way (``sites[2].capacity_people: Input should be a finite number (got inf)``).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

import pydantic
from pydantic import BaseModel

# Parts pydantic adds to an error's location that a user never wrote: the member type of a
# failed union (``float | ParamEntry``) and validator wrappers.
_MEMBER_TAGS = frozenset(
    {"float", "int", "bool", "str", "date", "ParamEntry", "constrained-float", "constrained-int"}
)
_DATE_ERRORS = ("date_type", "date_parsing", "date_from_datetime_inexact")


def is_member_tag(part: object) -> bool:
    """Whether a location part names a union member or validator, not a key the user wrote."""
    return isinstance(part, str) and (part in _MEMBER_TAGS or part.startswith("function-"))


def _candidates(annotation: Any) -> list[Any]:  # noqa: ANN401 - typing objects
    """The types an annotation may hold, with Optional, unions and Annotated flattened."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _candidates(arg)]
    return [annotation]


def _tagged(candidates: list[Any], tag: str) -> type[BaseModel] | None:
    """The member of a discriminated union whose ``type``/``kind`` literal is ``tag``."""
    for cls in candidates:
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            for name in ("type", "kind"):
                field = cls.model_fields.get(name)
                if field is not None and tag in typing.get_args(field.annotation):
                    return cls
    return None


def _walk(root: type[BaseModel], loc: Iterable[object]) -> Any:  # noqa: ANN401 - typing objects
    """The annotation at an error location (None if the location leaves the schema)."""
    current: Any = root
    for part in loc:
        cands = _candidates(current)
        if isinstance(part, str) and len(cands) > 1 and (tagged := _tagged(cands, part)):
            current = tagged
            continue
        if is_member_tag(part):
            continue
        nxt = None
        for cand in cands:
            if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
                field = cand.model_fields.get(part)
                if field is not None:
                    nxt = field.annotation
                    break
            origin, args = typing.get_origin(cand), typing.get_args(cand)
            if origin is list and isinstance(part, int) and args:
                nxt = args[0]
                break
            if origin is dict and isinstance(part, str) and len(args) == 2:
                nxt = args[1]
                break
        if nxt is None:
            return None
        current = nxt
    return current


def model_at(root: type[BaseModel], loc: Iterable[object]) -> type[BaseModel] | None:
    """The model that owns the last key of an error location (None if not one model)."""
    models = [
        c for c in _candidates(_walk(root, loc)) if isinstance(c, type) and issubclass(c, BaseModel)
    ]
    return models[0] if len(models) == 1 else None


def key_path(root: type[BaseModel], loc: Iterable[object]) -> str:
    """Render an error location as the key path a user wrote (``interventions[3].site``)."""
    out = ""
    walked: list[object] = []
    for part in loc:
        cands = _candidates(_walk(root, walked))
        walked.append(part)
        if isinstance(part, int):
            out += f"[{part}]"
        elif is_member_tag(part):
            continue
        elif isinstance(part, str) and len(cands) > 1 and _tagged(cands, part) is not None:
            continue  # a discriminator value (``close_site``) pydantic puts in the path
        else:
            out += ("." if out else "") + str(part)
    return out


def problems(
    root: type[BaseModel], exc: pydantic.ValidationError, id_hint: str = ""
) -> list[tuple[str, str]]:
    """Return ``(key path, message)`` for every error in ``exc`` against schema ``root``.

    Args:
        root: The schema that was validated.
        exc: Its validation error.
        id_hint: What a valid identifier looks like, for pattern mismatches.
    """
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind, got = err["type"], err.get("input")
        if kind == "extra_forbidden":
            owner = model_at(root, loc[:-1])
            valid = sorted(owner.model_fields) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
            message = f"unknown key '{loc[-1]}'"
            message += f" (did you mean '{close[0]}'?)" if close else ""
            message += f"; valid keys: {', '.join(valid)}" if valid else ""
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "union_tag_invalid":
            message = err["msg"].replace("Input tag", "value").replace(" found using", " of")
        elif kind == "string_pattern_mismatch":
            message = f"{got!r} is not a valid name" + (f": {id_hint}" if id_hint else "")
        elif kind in _DATE_ERRORS:
            message = f"must be a TOML date such as 2012-06-01, unquoted (got {got!r})"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"must be a table (got {type(got).__name__})"
        elif kind == "list_type":
            message = f"must be a list [...] (got {type(got).__name__})"
        elif kind in ("value_error", "assertion_error"):
            message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif isinstance(got, dict | list) or "input" not in err:
            message = err["msg"]  # a whole table as "input" would drown the message
        else:
            message = f"{err['msg']} (got {got!r})"
        out.append((key_path(root, loc), message))
    return out
