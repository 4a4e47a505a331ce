"""The model state handed to compiled kernels by reference: one pointer instead of ~120 arrays.

The state lives in Python as namedtuples of arrays (``state.People``, ``world.World``, ...): tables,
snapshots, pickling and tests read them there. A Numba namedtuple is a value type, though: every
kernel that takes ``W``, ``P`` and ``X`` receives each array's data pointer, shape and strides as
separate machine arguments, and Numba's compile time grows faster than linearly with them (ten
small kernels took 2.5 s of CPU to compile with a 4-field tuple and 33 s with a 120-field one;
``benchmarks/bench_compile.py`` has the engine's figure). A ``StructRef`` is a reference type:
kernels get one pointer and read the same arrays through it.

:func:`as_ref` wraps a namedtuple in a ``StructRef`` with the same field names, sharing the arrays
(nothing is copied, so what the kernels write lands in the namedtuple's arrays). The wrapper is
built by a small compiled function per namedtuple type, cached on disk like every kernel; its
source is generated from the namedtuple's own field list, never from scenario data.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
from numba import types
from numba.experimental import structref

from scenelab.model.jit import njit


@structref.register
class StateRefType(types.StructRef):
    """Numba type of a state struct: the fields of one namedtuple type, by reference."""

    def preprocess_fields(self, fields: Any) -> tuple[tuple[str, Any], ...]:  # noqa: ANN401
        """Drop literal types, so a field typed from a Python int is a plain int64."""
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class StateRef(structref.StructRefProxy):
    """Python side of a state struct (only ever passed back into compiled code)."""


structref.define_boxing(StateRefType, StateRef)

_PACKERS: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}


def _packer(name: str, fields: tuple[tuple[str, Any], ...]) -> Any:  # noqa: ANN401
    """Return the compiled function that wraps a namedtuple with these fields."""
    key = (name, fields)
    fn = _PACKERS.get(key)
    if fn is None:
        type_name = f"_{name}_STRUCT"
        lines = [f"def pack_{name}(nt):", f"    s = structref.new({type_name})"]
        lines += [f"    s.{field} = nt.{field}" for field, _ in fields]
        lines.append("    return s")
        # Defined in this module's namespace under this file's name, so that Numba's disk cache
        # can locate the function and rebuild its environment when it loads it.
        namespace = globals()
        namespace[type_name] = StateRefType(fields)
        code = compile("\n".join(lines) + "\n", __file__, "exec")
        exec(code, namespace)  # noqa: S102 - our own generated code
        fn = njit(cache=True)(namespace[f"pack_{name}"])
        _PACKERS[key] = fn
    return fn


def ref_type(state: NamedTuple) -> StateRefType:
    """Return the Numba type :func:`as_ref` gives ``state``, without compiling anything."""
    return StateRefType(tuple((f, numba.typeof(getattr(state, f))) for f in state._fields))


#: The packer of each namedtuple type and layout of its fields (:func:`_layout`).
_BY_LAYOUT: dict[tuple[object, ...], Any] = {}


def _layout(value: object) -> object:
    """Return what decides a field's Numba type, read without ``numba.typeof``.

    An array's type is its dtype, dimensions, layout (C, F or any), whether it is writeable and
    aligned; a scalar's is its Python or NumPy type. ``numba.typeof`` on ~150 fields took about
    2.5 ms a run, 3% of a five-month ``scenelab.run``. Anything else falls back to the type
    itself.
    """
    if isinstance(value, np.ndarray):
        f = value.flags
        return (value.dtype, value.ndim, f.c_contiguous, f.f_contiguous, f.writeable, f.aligned)
    if isinstance(value, bool | int | float | np.generic):
        return type(value)
    return numba.typeof(value)


def as_ref(state: NamedTuple) -> StateRef:
    """Return ``state`` (a namedtuple of arrays and scalars) as a struct sharing its arrays.

    Args:
        state: A model namedtuple, e.g. ``state.People`` or ``world.World``.

    Returns:
        A ``StateRef`` whose fields are the same objects: kernels write the arrays in place.
    """
    key = (type(state), *(_layout(v) for v in state))
    fn = _BY_LAYOUT.get(key)
    if fn is None:
        fields = tuple((f, numba.typeof(getattr(state, f))) for f in state._fields)
        fn = _BY_LAYOUT[key] = _packer(type(state).__name__, fields)
    return fn(state)
