"""The one parallel loop: a pass's blocks, on Python threads.

Each family compiles its work on a run of blocks of rows as a serial
function that releases the GIL (``nogil``; ``full._full_block``, ...).
``run_blocks`` cuts a pass's blocks into runs and hands them to threads:
the calling thread and ``n - 1`` threads of a pool, each taking the next run
until none is left and calling the block function through Numba's
dispatcher, which holds the GIL only to pick the compiled code (some
microseconds a run) and runs the blocks without it.

Nothing here is compiled.  A ``prange`` loop was compiled per kernel
signature (a parfor and its gufunc wrapper with every array argument: 1-1.5
s of a first fit's compile time on a 2-core Zen 3, and Numba's threading
layer to start), and Numba's ``workqueue`` layer aborts the process when two
Python threads launch at once; Python threads can run any number of passes
at the same time.

How the blocks are grouped into runs, and which thread runs which, never
changes a result: block ``b`` writes slot ``b`` and the caller adds the
slots in block order.  An exception in a block stops the pass and is raised
in the calling thread once every thread has stopped.
"""

import os
import queue
import threading

from .. import _threads

# at most this many blocks run on the calling thread alone, with no other
# thread woken: the small-data path's 2,048 rows (_config.SERIAL_ROWS) are
# two blocks
_DIRECT_BLOCKS = 2

# runs a thread (a few per thread balance a pass when one thread is slowed)
_RUNS_PER_THREAD = 4

# helper threads (daemons: one only ever waits for work or runs blocks of a
# pass whose caller is waiting for it), started as passes first need them
_tasks = queue.SimpleQueue()
_helpers = []
_helpers_lock = threading.Lock()


def _helper():
    while True:
        _tasks.get()()


def _wake(n):
    """Start helper threads until there are ``n`` (they take work from
    ``_tasks``)."""
    with _helpers_lock:
        while len(_helpers) < n:
            thread = threading.Thread(target=_helper, name=f"fastgmm-{len(_helpers)}", daemon=True)
            thread.start()
            _helpers.append(thread)


def _forget_helpers():
    # a forked child has none of its parent's threads, and maybe a held lock
    global _tasks, _helpers, _helpers_lock
    _tasks, _helpers, _helpers_lock = queue.SimpleQueue(), [], threading.Lock()


os.register_at_fork(after_in_child=_forget_helpers)


def run_blocks(block, n_blocks, args):
    """``block(first, last, *args)`` (a family's block function) over every
    block of ``n_blocks``, on ``_threads.current()`` threads; ``args``
    checked by the caller."""
    n_threads = _threads.current()
    if n_blocks <= _DIRECT_BLOCKS or n_threads <= 1:
        block(0, n_blocks, *args)
        return
    per = max(1, n_blocks // (_RUNS_PER_THREAD * n_threads))
    starts = iter(range(0, n_blocks, per))
    left = [-(-n_blocks // per)]  # runs not yet finished (or skipped)
    lock = threading.Lock()
    finished = threading.Event()
    failed = []

    def work():
        # the next run until none is left; after a failure the rest are
        # skipped.  The pass is over when every run is counted, whichever
        # thread counted it: a helper woken late finds nothing to do, and
        # nobody waits for it.
        while True:
            with lock:
                first = next(starts, None)
            if first is None:
                return
            if not failed:
                try:
                    block(first, min(first + per, n_blocks), *args)
                except BaseException as exc:  # raised by the caller
                    failed.append(exc)
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    finished.set()

    _wake(n_threads - 1)
    for _ in range(n_threads - 1):
        _tasks.put(work)
    work()
    finished.wait()
    if failed:
        raise failed[0]
