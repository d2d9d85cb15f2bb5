"""Compile (or load from the disk cache) the kernels before they are needed.

A kernel compiles at its first call in a process for its argument types.
:func:`ensure_kernels` makes that first call itself, on a few rows, the first
time a fit (or a prediction) needs a covariance type and dtype, so that the
time is measured apart from the initialisation and a reporter can say that
it is compiling; :func:`warmup` does it ahead of use.  The tiny calls go
through the same source code as real data, so they compile exactly the
signatures real data needs.
"""

import sys
import threading
import time

import numpy as np

from ._stats import COVARIANCE_TYPES

DTYPES = (np.float64, np.float32)

# A compilation announces itself once it has taken this long (loading from
# the disk cache takes less).
_ANNOUNCE_AFTER = 0.5

# (covariance_type, dtype name, variant) whose kernel has run here
_ready = set()
_ready_lock = threading.Lock()


def _label(covariance_type, dtype, variant):
    label = f"{covariance_type}/{np.dtype(dtype).name}"
    return f"{label} ({variant})" if variant else label


def _tiny_parameters(covariance_type, n_components, n_features):
    from ._mstep import GaussianParameters

    eye = np.eye(n_features)
    chol = {
        "full": np.stack([eye] * n_components),
        "tied": eye,
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }[covariance_type]
    means = np.arange(n_components * n_features, dtype=np.float64).reshape(n_components, -1)
    return GaussianParameters(np.full(n_components, 1.0 / n_components), means, None, chol)


def compile_kernels(covariance_type, dtype, n_features=3):
    """Run the kernel of (covariance type, dtype) that data of ``n_features``
    runs once, on a few rows: it compiles, or loads from the disk cache, if
    it has not yet run in this process.  Its three modes (E-step, given
    responsibilities, scores) are one compiled signature, and the threads
    of a pass call that same function (nothing else compiles for more
    rows), so one call serves a fit and every prediction, of any size."""
    from ._kernels import kernel_variant
    from ._sources import ArraySource

    dtype = np.dtype(dtype)
    n_rows = 16
    X = np.linspace(-1.0, 1.0, n_features * n_rows).reshape(n_rows, n_features).astype(dtype)
    params = _tiny_parameters(covariance_type, 2, n_features)
    ArraySource(X).accumulate(params, covariance_type)
    variant = kernel_variant(covariance_type, n_features)
    with _ready_lock:
        _ready.add((covariance_type, dtype.name, variant))


def compile_kmeans_kernels(dtype=np.float64):
    """Run fastgmm's k-means kernels (the initialisation of more than
    ``INIT_SAMPLE_ROWS`` rows) once: the seeding's, the Lloyd step's and the
    nearest-centre pass's.  They compute in float64 whatever the data
    (float32 rows are widened a wave at a time), so one compilation serves
    both dtypes: ``dtype`` is accepted for symmetry and must be float64."""
    from . import _kmeans
    from ._sources import ArraySource

    if np.dtype(dtype) != np.float64:
        raise ValueError(f"the k-means kernels are float64 only, got {np.dtype(dtype)}.")
    n_rows = 64
    X = np.linspace(-1.0, 1.0, 3 * n_rows).reshape(n_rows, 3)
    centres, origin = _kmeans.kmeans(X, None, 2, np.random.RandomState(0), n_init=1)
    ArraySource(X).nearest_statistics(centres, origin, "full")
    with _ready_lock:
        _ready.add(("kmeans", "float64", ""))


def ensure_kernels(covariance_type, dtype, reporter=None, n_features=3):
    """Make sure the kernel of (covariance type, dtype) for data of
    ``n_features`` has run in this process; seconds spent (0.0 when it had).
    ``covariance_type='kmeans'`` stands for the k-means kernels
    (:func:`compile_kmeans_kernels`).

    When it takes longer than a moment (a compilation, not a cache load),
    ``reporter.compile_begin("diag/float64")`` is called while it runs and
    ``reporter.compile_end(seconds)`` when it is done.
    """
    from ._kernels import kernel_variant

    dtype = np.dtype(dtype)
    variant = "" if covariance_type == "kmeans" else kernel_variant(covariance_type, n_features)
    if (covariance_type, dtype.name, variant) in _ready:
        return 0.0
    state = {"announced": False, "done": False}
    lock = threading.Lock()

    def announce():
        with lock:
            if not state["done"]:
                state["announced"] = True
                reporter.compile_begin(_label(covariance_type, dtype, variant))

    timer = None
    if reporter is not None:
        timer = threading.Timer(_ANNOUNCE_AFTER, announce)
        timer.daemon = True
        timer.start()
    tic = time.perf_counter()
    try:
        if covariance_type == "kmeans":
            compile_kmeans_kernels()
        else:
            compile_kernels(covariance_type, dtype, n_features)
    finally:
        elapsed = time.perf_counter() - tic
        if timer is not None:
            timer.cancel()
            with lock:
                state["done"] = True
    if state["announced"]:
        reporter.compile_end(elapsed)
    return elapsed


def warmup(
    covariance_types=COVARIANCE_TYPES, dtypes=DTYPES, *, kmeans=True, verbose=True, file=None
):
    """Compile the kernels for these covariance types and dtypes ahead of use.

    A first fit in a fresh process otherwise compiles them (seconds per
    covariance type and dtype); with the disk cache on, this also fills the
    cache, so a container image or a CI job that runs it once starts every
    later process warm.  Each (type, dtype) runs, on a few rows, the one
    kernel that a fit, ``predict``, ``predict_proba`` and ``score_samples``
    share (for 'full' and 'tied', two: one for data of at most four
    features, one for more); with ``kmeans``, the k-means kernels that initialise fits of more
    than 2^17 rows (``init_params='kmeans'`` or ``'k-means++'``) run too
    (float64 kernels, for data of either dtype).

    On a Dask cluster, ``client.run(fastgmm.warmup)`` warms every worker.

    Parameters
    ----------
    covariance_types : iterable of str, default=all four
    dtypes : iterable of dtype, default=(float64, float32)
    kmeans : bool, default=True
        Also the k-means kernels (a line ``kmeans/float64``).
    verbose : bool, default=True
        Print one line per kernel with the seconds it took.
    file : file-like, default=sys.stdout

    Returns
    -------
    seconds : dict
        ``{(covariance_type, dtype name): seconds}`` (for 'full' and
        'tied', both kernels' seconds).
    """
    from . import _threads
    from ._kernels import kernel_variant, variant_widths

    out = sys.stdout if file is None else file
    covariance_types = [covariance_types] if isinstance(covariance_types, str) else covariance_types
    dtypes = [dtypes] if isinstance(dtypes, (str, type, np.dtype)) else dtypes
    checked = []
    for covariance_type in covariance_types:
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}."
            )
        for dtype in dtypes:
            dtype = np.dtype(dtype)
            if dtype not in (np.float32, np.float64):
                raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
            checked.append((covariance_type, dtype))
    if kmeans and checked:
        checked.append(("kmeans", np.dtype(np.float64)))
    seconds = {}
    with _threads.threads(None, limit_blas=True):
        for covariance_type, dtype in checked:
            key = (covariance_type, dtype.name)
            seconds[key] = 0.0
            widths = (3,) if covariance_type == "kmeans" else variant_widths(covariance_type)
            for n_features in widths:
                if verbose:
                    variant = "" if key[0] == "kmeans" else kernel_variant(key[0], n_features)
                    print(f"kernels for {_label(*key, variant)}: ", end="", file=out, flush=True)
                tic = time.perf_counter()
                if covariance_type == "kmeans":
                    compile_kmeans_kernels()
                else:
                    compile_kernels(covariance_type, dtype, n_features=n_features)
                elapsed = time.perf_counter() - tic
                seconds[key] += elapsed
                if verbose:
                    print(f"{elapsed:.2f} s", file=out, flush=True)
    return seconds
