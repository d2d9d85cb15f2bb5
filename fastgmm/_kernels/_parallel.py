"""The one parallel loop: every family's blocks, through a function pointer.

Each family compiles its work on a run of blocks of rows as a serial
function (``full._full_block``, ...).  ``_run_blocks`` runs the blocks of a
pass in a ``prange`` and calls that function through a pointer (a
first-class function argument), so its machine code is compiled once.  Called directly, Numba
links a callee into its caller: a ``prange`` body passes through three
libraries (the parallel loop's body, its gufunc wrapper, the driver) and
LLVM optimised and emitted the whole block four times, most of a first
fit's compile time.  Through the pointer the loop is a few lines, and the
block compiles as a function of its own.

A block function runs blocks ``first:last`` and returns 1.  An exception
cannot cross the pointer: Numba prints it and the call returns 0, which
``run_blocks`` turns into an error (the blocks' statistics would be
incomplete).

The pointer is an argument, never a constant, so the disk cache holds no
address: both the loop and the blocks are cached, and a later process
passes its own pointer.
"""

import numba.experimental.function_type  # noqa: F401 (the type of a pointer argument)
import numpy as np
from numba import get_num_threads, njit, prange, typeof, types
from numba.core.types.function_type import WrapperAddressProtocol
from numba.extending import typeof_impl

from ._vector import _PARALLEL


@njit(**_PARALLEL)
def _run_blocks(block, n_blocks, per, *args):
    # block(first, last, *args) over blocks first:last, every block of
    # n_blocks once, in runs of ``per`` blocks (one call through the pointer
    # passes some hundred words of array fields: a call per block cost 5-10%
    # of a pass of 10M x 4 x 4); returns how many runs did not finish.  How
    # the blocks are grouped into runs never changes a result: block b
    # writes slot b.
    n_runs = (n_blocks + per - 1) // per
    done = np.empty(n_runs, dtype=np.int64)  # every run writes its slot
    for run in prange(n_runs):
        first = np.int64(run * per)
        last = first + per if first + per < n_blocks else n_blocks
        done[run] = block(first, np.int64(last), *args)
    failed = 0
    for run in range(n_runs):
        failed += 1 - done[run]
    return failed


class _BlockPointer(WrapperAddressProtocol):
    """A block function compiled for one signature, as Numba's first-class
    function: compiled (or loaded from the disk cache) on first use."""

    def __init__(self, dispatcher, signature):
        self._dispatcher = dispatcher
        self._signature = signature
        self._address = None
        self.numba_type = types.FunctionType(signature)

    def __wrapper_address__(self):
        if self._address is None:
            result = self._dispatcher.get_compile_result(self._signature)
            self._address = result.library.get_pointer_to_function(
                result.fndesc.llvm_cfunc_wrapper_name
            )
        return self._address

    def signature(self):
        return self._signature


@typeof_impl.register(_BlockPointer)
def _typeof_pointer(value, context):
    # its type, made once (Numba's own typeof of a pointer object builds it
    # at every call: 6 of a small pass's 12 microseconds of overhead)
    return value.numba_type


_pointers = {}
# at most this many blocks run from Python, with no parallel launch: the
# small-data path's 2,048 rows (_config.SERIAL_ROWS) are two blocks
_DIRECT_BLOCKS = 2


# numpy's C, F, ALIGNED and WRITEABLE flags (not OWNDATA: a view and its
# base take the same type)
_TYPE_FLAGS = 0x1 | 0x2 | 0x100 | 0x400


def _key(value):
    # what Numba's type of an argument depends on, cheaply
    if isinstance(value, np.ndarray):
        return (value.dtype, value.ndim, value.flags.num & _TYPE_FLAGS)
    return type(value)


def run_blocks(block, n_blocks, args):
    """``block(first, last, *args)`` (a family's block function) over every
    block of ``n_blocks``, in parallel; ``args`` checked by the caller."""
    if n_blocks <= _DIRECT_BLOCKS:
        # a block or two (small data): called from here, with no parallel
        # launch (the same machine code; an exception propagates)
        block(0, n_blocks, *args)
        return
    key = (block, tuple(_key(a) for a in args))
    pointer = _pointers.get(key)
    if pointer is None:
        signature = types.int64(types.int64, types.int64, *(typeof(a) for a in args))
        pointer = _pointers.setdefault(key, _BlockPointer(block, signature))
    # four runs a thread (get_num_threads() inside the kernel would make it
    # uncacheable: it reads the threading layer's address)
    per = max(1, n_blocks // (4 * get_num_threads()))
    failed = _run_blocks(pointer, n_blocks, per, *args)
    if failed:
        raise RuntimeError(
            f"{failed} block(s) of the kernel failed (the exception is printed above); "
            "no result was returned."
        )
