"""The state structs the kernels get: shared arrays, kept alive by the proxy, counting nothing."""

from __future__ import annotations

import gc
import sys
from collections import namedtuple

import numba
import numpy as np
from numba import njit

from scenelab.model.structs import LentStateType, UnownedArray, as_ref, lend, lent_type, ref_type

Toy = namedtuple("Toy", ["a", "b", "n"])


@njit
def _bump_and_sum(ref):  # noqa: ANN001, ANN202
    s = lend(ref)
    s.a[0] += 1.0
    total = 0
    for k in range(s.b.shape[0]):
        total += s.b[k]
    return total + s.n


@njit
def _first_at_least(s, v):  # noqa: ANN001, ANN202
    # A loop and two exits: Numba's pruning leaves the counts of a struct argument here, as in
    # the engine's kernels.
    for k in range(s.b.shape[0]):
        if s.b[k] >= v:
            s.a[0] += 1
            return k
    return -1


def _toy(size: int = 1000) -> Toy:
    return Toy(np.zeros(3), np.arange(size, dtype=np.int64), 7)


def test_kernels_write_into_the_namedtuples_arrays():
    toy = _toy()
    ref = as_ref(toy)
    assert _bump_and_sum(ref) == 999 * 1000 // 2 + 7
    _bump_and_sum(ref)
    assert toy.a[0] == 2.0  # the struct holds the same arrays, not copies


def test_the_struct_keeps_its_arrays_alive_without_the_namedtuple():
    def make() -> object:
        return as_ref(_toy(100_000))  # the namedtuple is dropped on return

    ref = make()
    gc.collect()
    # Memory freed by the arrays would be reused by these, and the sum below would change.
    junk = [np.full(100_000, -1, dtype=np.int64) for _ in range(20)]
    assert _bump_and_sum(ref) == 99_999 * 100_000 // 2 + 7
    del junk


def test_lent_values_count_no_references_in_compiled_code():
    toy = _toy()
    owned = ref_type(toy)
    lent = lent_type(owned)
    assert isinstance(lent, LentStateType)
    assert isinstance(lent.field_dict["b"], UnownedArray)
    assert isinstance(owned.field_dict["b"], UnownedArray)  # stored unowned (``as_ref``)
    calls = {}
    for typ in (owned, lent):
        _first_at_least.compile((typ, numba.int64))
        ir = _first_at_least.inspect_llvm((typ, numba.int64))
        calls[typ] = ir.count("call void @NRT_incref") + ir.count("call void @NRT_decref")
    # The struct argument is counted (its array fields are not: they are stored unowned); the
    # lent struct is not counted at all.
    assert calls[owned] > 0
    assert calls[lent] == 0


def test_running_kernels_leaves_python_reference_counts_unchanged():
    toy = _toy()
    before = [sys.getrefcount(x) for x in (toy.a, toy.b)]
    ref = as_ref(toy)
    for _ in range(100):
        _bump_and_sum(ref)
    del ref
    gc.collect()
    assert [sys.getrefcount(x) for x in (toy.a, toy.b)] == before
    assert toy.a[0] == 100.0
