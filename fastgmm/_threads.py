"""Thread control: the kernels' thread count and the BLAS thread pools.

The kernels' passes run on Python threads (``_kernels/_parallel.py``); how
many is set here, per calling Python thread.  Nothing here is compiled.
Numba is imported inside the functions, so code that only loads a model or
patches scikit-learn never imports it.
"""

import threading
from contextlib import contextmanager


def max_threads():
    """The most threads the kernels can use in this process."""
    import numba

    return numba.config.NUMBA_NUM_THREADS


# The thread count of the kernels' passes, local to each Python thread (a
# fit sets it for its own passes only); None: the default below.
_local = threading.local()


def current():
    """The threads a kernel pass started from this Python thread uses: the
    fit's ``n_threads``; else Numba's thread count where the caller set one
    (``numba.set_num_threads``), else all (``NUMBA_NUM_THREADS``)."""
    n = getattr(_local, "n_threads", None)
    if n is not None:
        return n
    import numba

    try:
        numba.threading_layer()  # raises until Numba's own threads were started
    except ValueError:
        return max_threads()
    return numba.get_num_threads()


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
    # scikit-learn keeps one too (its k-means limits BLAS with it): share it
    # where it is found, one scan per process instead of two.
    global _controller
    if _controller is None:
        try:
            from sklearn.utils.parallel import _get_threadpool_controller
        except ImportError:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        else:
            _controller = _get_threadpool_controller()
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
    """Run kernels with ``n_threads`` threads (None: as ``current()`` says
    outside), restored on exit.

    The count is local to the calling Python thread, so concurrent fits with
    different ``n_threads`` do not disturb each other.

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
    previous = getattr(_local, "n_threads", None)
    if n_threads is not None:
        _local.n_threads = max(1, min(int(n_threads), max_threads()))
    try:
        yield
    finally:
        _local.n_threads = previous
