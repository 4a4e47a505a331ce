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

Nothing the kernels get is reference counted. Numba counts a reference (an atomic increment and
decrement) for every array read out of a struct and for every struct or array a function receives;
with eleven kernels an hour reading 10-50 arrays each, that was 12% of a Bergen replicate, whatever
the number of people. So a struct's array fields are stored without their meminfo
(:class:`UnownedArray`), and the tick loop lends the kernels the structs and vectors it holds
(:func:`lend`, :class:`LentStateType`): types whose data model gives the counter nothing to visit.
The proxy :func:`as_ref` returns holds the namedtuple, which keeps the arrays alive.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.core.datamodel import models
from numba.experimental import structref
from numba.extending import intrinsic, register_model

from scenelab.model.jit import njit


@structref.register
class StateRefType(types.StructRef):
    """Numba type of a state struct: the fields of one namedtuple type, by reference."""

    def preprocess_fields(self, fields: Any) -> tuple[tuple[str, Any], ...]:  # noqa: ANN401
        """Drop literal types, so a field typed from a Python int is a plain int64."""
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class StateRef(structref.StructRefProxy):
    """Python side of a state struct (only ever passed back into compiled code).

    ``_arrays`` holds the namedtuple whose arrays the struct points at: the struct's array
    fields own no reference (:func:`lend`), so this proxy keeps them alive.
    """

    _arrays: NamedTuple


class UnownedArray(types.Array):
    """Numba type of an array field of a state struct: an array that counts no references.

    Every kernel reads its arrays out of the state structs, and Numba counts a reference for each
    read: a call to ``NRT_incref`` at the kernel's entry and to ``NRT_decref`` at its exit, each
    an atomic instruction. That was 12% of a Bergen replicate, about 400 pairs an hour however
    many people there are (``docs/performance.md``). For this type Numba emits no such call: its
    data model lists no member to count (:class:`_UnownedArrayModel`), and the arrays' meminfo is
    null (:func:`lend`), so a view or copy of one counts nothing either. The arrays stay
    alive because the ``StateRef`` returned by :func:`as_ref` holds their namedtuple; ``parent``
    is kept, so an array handed back to Python is the original NumPy array.
    """

    def __init__(
        self,
        dtype: Any,  # noqa: ANN401 - a Numba type
        ndim: int,
        layout: str,
        readonly: bool = False,
        name: str | None = None,
        aligned: bool = True,
    ) -> None:
        """Build the type; its name says it is unowned (Numba types compare by class and key)."""
        if name is None:
            kind = "readonly unowned array" if readonly else "unowned array"
            name = f"{kind}({dtype}, {ndim}d, {layout})"
        super().__init__(dtype, ndim, layout, readonly=readonly, name=name, aligned=aligned)


@register_model(UnownedArray)
class _UnownedArrayModel(models.ArrayModel):
    """An array's layout, with no member for the reference counter to visit."""

    def traverse(self, builder: Any) -> list[Any]:  # noqa: ANN401, ARG002 - Numba's API
        """Return no members: incref and decref of this type emit nothing."""
        return []


def unowned(typ: Any) -> Any:  # noqa: ANN401 - a Numba type
    """Return the struct-field type of a value of Numba type ``typ`` (arrays become unowned)."""
    if isinstance(typ, types.Array) and not isinstance(typ, UnownedArray):
        return UnownedArray(typ.dtype, typ.ndim, typ.layout, not typ.mutable, aligned=typ.aligned)
    return typ


@structref.register
class LentStateType(types.StructRef):
    """Numba type of a state struct as the phase kernels get it: no reference counted on a call.

    Numba counts a reference for each argument a function receives (an atomic increment at its
    entry, a decrement at its exit), and eleven kernels an hour take four or five structs each.
    The tick loop lends them the structs it holds (:func:`lend`): the same pointer, typed with a
    data model that gives the reference counter nothing to visit. Only the loop, whose caller
    keeps the structs alive for the call, makes one.
    """

    def preprocess_fields(self, fields: Any) -> tuple[tuple[str, Any], ...]:  # noqa: ANN401
        """Drop literal types, as :class:`StateRefType` does."""
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


@register_model(LentStateType)
class _LentStateModel(models.StructRefModel):
    """A struct reference's layout, with no member for the reference counter to visit."""

    def traverse(self, builder: Any) -> list[Any]:  # noqa: ANN401, ARG002 - Numba's API
        """Return no members: incref and decref of this type emit nothing."""
        return []


def _unowned_array(arr: Any) -> Any:  # noqa: ANN401 - Numba's intrinsic API
    """Return :func:`lend`'s signature and code for an array: its meminfo replaced by null."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:  # noqa: ANN401, ARG001
        ary = context.make_array(arr)(context, builder, value=args[0])
        ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
        return ary._getvalue()  # noqa: SLF001 - Numba's own accessor for the struct's value

    return unowned(arr)(arr), codegen


def lent_type(typ: Any) -> Any:  # noqa: ANN401 - a Numba type
    """Return the type :func:`lend` gives a value of Numba type ``typ`` (others unchanged)."""
    if isinstance(typ, StateRefType):
        return LentStateType(typ.field_dict.items())
    return unowned(typ)


@intrinsic
def lend(typingctx: Any, value: Any) -> Any:  # noqa: ANN401, ARG001 - Numba's intrinsic API
    """Return a state struct or array as the kernels get it: the same data, counting nothing.

    A struct becomes a :class:`LentStateType` with the same meminfo; an array becomes an
    :class:`UnownedArray` whose meminfo is null. The caller must hold the original for as long
    as the lent value is used: the tick loop holds its arguments for the whole call.
    """
    if isinstance(value, types.Array):
        return _unowned_array(value)
    if not isinstance(value, StateRefType):
        return None
    out = lent_type(value)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:  # noqa: ANN401, ARG001
        src = context.make_helper(builder, value, args[0])
        dst = context.make_helper(builder, out)
        dst.meminfo = src.meminfo
        return dst._getvalue()  # noqa: SLF001 - Numba's own accessor for the struct's value

    return out(value), codegen


structref.define_boxing(StateRefType, StateRef)


_PACKERS: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}


def _packer(name: str, fields: tuple[tuple[str, Any], ...]) -> Any:  # noqa: ANN401
    """Return the compiled function that wraps a namedtuple with these fields."""
    key = (name, fields)
    fn = _PACKERS.get(key)
    if fn is None:
        type_name = f"_{name}_STRUCT"
        lines = [f"def pack_{name}(nt):", f"    s = structref.new({type_name})"]
        lines += [
            f"    s.{field} = lend(nt.{field})"
            if isinstance(typ, types.Array)
            else f"    s.{field} = nt.{field}"
            for field, typ in fields
        ]
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
    return StateRefType(tuple((f, unowned(numba.typeof(getattr(state, f)))) for f in state._fields))


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
        fields = tuple((f, unowned(numba.typeof(getattr(state, f)))) for f in state._fields)
        fn = _BY_LAYOUT[key] = _packer(type(state).__name__, fields)
    ref = fn(state)
    ref._arrays = state  # the struct's arrays own no reference (``lend``): keep them alive
    return ref
