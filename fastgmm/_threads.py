"""Thread control: Numba's thread count and the BLAS thread pools.

Nothing here is compiled.  Numba is imported inside the functions, so code
that only loads a model or patches scikit-learn never imports it.
"""

import threading
from contextlib import contextmanager


def max_threads():
    """The most threads the kernels can use in this process."""
    import numba

    return numba.config.NUMBA_NUM_THREADS


def threading_layer():
    """The Numba threading layer in use, or None before the first launch."""
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return None


# The workqueue layer aborts the process when two Python threads launch
# parallel kernels at once; tbb and omp do not.  Until the layer is known (it
# is chosen at the first parallel launch), and whenever it is workqueue,
# launches are serialised by this lock instead of crashing.
_launch_lock = threading.RLock()
_layer_is_threadsafe = False


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
    """Run kernels with ``n_threads`` threads (None: all), restored on exit.

    Numba's thread count is local to the calling Python thread, so concurrent
    fits with different ``n_threads`` do not disturb each other.

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
    import numba

    global _layer_is_threadsafe
    previous = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(min(int(n_threads), max_threads()))
    try:
        if _layer_is_threadsafe:
            yield
        else:
            with _launch_lock:
                yield
                layer = threading_layer()
                if layer is not None:
                    _layer_is_threadsafe = layer in ("tbb", "omp")
    finally:
        numba.set_num_threads(previous)
