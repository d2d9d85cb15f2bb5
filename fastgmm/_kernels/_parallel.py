"""The one parallel loop: every family's blocks, through a function pointer.

Each family compiles its work on one block of rows as a serial function
(``full._full_block``, ...).  ``_run_blocks`` runs the blocks of a pass in a
``prange`` and calls that function through a pointer (a first-class function
argument), so its machine code is compiled once.  Called directly, Numba
links a callee into its caller: a ``prange`` body passes through three
libraries (the parallel loop's body, its gufunc wrapper, the driver) and
LLVM optimised and emitted the whole block four times, most of a first
fit's compile time.  Through the pointer the loop is a few lines, and the
block compiles as a function of its own.

A block returns 1.  An exception cannot cross the pointer: Numba prints it
and the call returns 0, which ``run_blocks`` turns into an error (the
blocks' statistics would be incomplete).

The pointer is an argument, never a constant, so the disk cache holds no
address: both the loop and the blocks are cached, and a later process
passes its own pointer.
"""

import numba.experimental.function_type  # noqa: F401 (the type of a pointer argument)
import numpy as np
from numba import njit, prange, typeof, types
from numba.core.types.function_type import WrapperAddressProtocol

from ._vector import _PARALLEL


@njit(**_PARALLEL)
def _run_blocks(block, n_blocks, *args):
    # block(b, *args) for b in range(n_blocks); returns how many did not finish
    done = np.zeros(n_blocks, dtype=np.int64)
    for b in prange(n_blocks):
        done[b] = block(np.int64(b), *args)
    failed = 0
    for b in range(n_blocks):
        failed += 1 - done[b]
    return failed


class _BlockPointer(WrapperAddressProtocol):
    """A block function compiled for one signature, as Numba's first-class
    function: compiled (or loaded from the disk cache) on first use."""

    def __init__(self, dispatcher, signature):
        self._dispatcher = dispatcher
        self._signature = signature
        self._address = None

    def __wrapper_address__(self):
        if self._address is None:
            result = self._dispatcher.get_compile_result(self._signature)
            self._address = result.library.get_pointer_to_function(
                result.fndesc.llvm_cfunc_wrapper_name
            )
        return self._address

    def signature(self):
        return self._signature


_pointers = {}
_DIRECT_BLOCKS = 2


def _key(value):
    # what Numba's type of an argument depends on, cheaply
    if isinstance(value, np.ndarray):
        flags = value.flags
        return (value.dtype.char, value.ndim, flags.writeable, flags.c_contiguous,
                flags.f_contiguous, flags.aligned)  # fmt: skip
    return type(value)


def run_blocks(block, n_blocks, args):
    """``block(b, *args)`` (a family's block function) for every block ``b``
    of ``n_blocks``, in parallel; ``args`` checked by the caller."""
    if n_blocks <= _DIRECT_BLOCKS:
        # a block or two (small data): called from here, with no parallel
        # launch (the same machine code; an exception propagates)
        for b in range(n_blocks):
            block(b, *args)
        return
    key = (block, tuple(_key(a) for a in args))
    pointer = _pointers.get(key)
    if pointer is None:
        signature = types.int64(types.int64, *(typeof(a) for a in args))
        pointer = _pointers.setdefault(key, _BlockPointer(block, signature))
    failed = _run_blocks(pointer, n_blocks, *args)
    if failed:
        raise RuntimeError(
            f"{failed} block(s) of the kernel failed (the exception is printed above); "
            "no result was returned."
        )
