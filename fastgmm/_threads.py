"""Thread control: the kernels' threads and the BLAS thread pools.

The kernels are serial Numba functions that release the GIL (``nogil``); a
pass runs them on several Python threads at once, each on its own range of
blocks (:func:`run_parallel`).  Numba's parallel loops are not used: their
lowering tripled the compile time of a kernel, their OpenMP threads spin
after each launch (a fit right after scikit-learn's OpenMP k-means waited
milliseconds for a core), and Numba's ``workqueue`` layer aborts on launches
from two Python threads at once.

Nothing here is compiled.  Numba is imported inside :func:`max_threads`
only, so code that only loads a model or patches scikit-learn never imports
it.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar


def max_threads():
    """The most threads the kernels use in this process: Numba's thread count
    (``NUMBA_NUM_THREADS``, by default the number of CPUs)."""
    import numba

    return numba.config.NUMBA_NUM_THREADS


# The thread count of the kernels run from this context (None: all).
_current = ContextVar("fastgmm_threads", default=None)


def current_threads():
    """The threads a pass started here may use."""
    n = _current.get()
    return max_threads() if n is None else n


_pool = None
_pool_lock = threading.Lock()


def _forget_pool():
    # A forked child has the parent's pool object but none of its threads:
    # it makes its own at its first parallel pass.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _shared_pool():
    # One pool for the process, made at the first parallel pass; its workers
    # sleep on a lock between passes (they never spin).
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, max_threads() - 1), thread_name_prefix="fastgmm"
            )
        return _pool


def run_parallel(tasks):
    """Run the callables ``tasks``, the last on this thread and the others
    on the shared pool at the same time; return when all are done, raising
    the first error.  Each task must touch only its own outputs.

    (The calling thread takes the last task: given the first, it ran its
    share of a pass 10-25% slower than the pool's thread ran the other, on
    a 2-core machine, and every pass waited for it.)
    """
    if len(tasks) == 1:
        tasks[0]()
        return
    futures = [_shared_pool().submit(task) for task in tasks[:-1]]
    error = None
    try:
        tasks[-1]()
    except BaseException as exc:  # still wait for the others: they use our buffers
        error = exc
    for future in futures:
        try:
            future.result()
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error


# BLAS is held to one thread while any fit runs, and given back its own
# limits when the last one ends.  The limits are process-wide, so each fit
# saving and restoring them itself would, with two fits overlapping in
# Python threads, restore the other's "1" and leave BLAS at one thread.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None
_controller = None


def _threadpool_controller():
    # One controller, made once: scanning the loaded libraries costs
    # milliseconds, which a fit on small data would pay every time.
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextmanager
def _single_threaded_blas():
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = _threadpool_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


@contextmanager
def threads(n_threads=None, *, limit_blas=False, n_rows=None):
    """Run kernels with ``n_threads`` threads (None: all), restored on exit.

    The count is local to the calling Python thread (a context variable), so
    concurrent fits with different ``n_threads`` do not disturb each other.

    n_rows : int, optional
        The rows the kernels will read: with ``n_threads=None``, data of at
        most ``_config.SERIAL_ROWS`` rows runs on the calling thread alone.

    limit_blas : bool
        Also hold BLAS to one thread (a fit's M-step runs small LAPACK calls
        between kernels; OpenBLAS's threads then spin-wait on the cores the
        next kernel needs, which made a pass on small d several times slower).
    """
    if n_threads is None and n_rows is not None:
        from ._config import SERIAL_ROWS

        if n_rows <= SERIAL_ROWS:
            n_threads = 1
    if limit_blas:
        with _single_threaded_blas(), threads(n_threads):
            yield
        return
    token = _current.set(None if n_threads is None else max(1, min(int(n_threads), max_threads())))
    try:
        yield
    finally:
        _current.reset(token)
