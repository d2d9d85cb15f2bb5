"""Compile (or load from the disk cache) the kernels before they are needed."""

import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._stats import COVARIANCE_TYPES

DTYPES = (np.float64, np.float32)


def warmup(covariance_types=COVARIANCE_TYPES, dtypes=DTYPES, *, verbose=True, file=None):
    """Compile the kernels for these covariance types and dtypes ahead of use.

    A first fit in a fresh process otherwise compiles them (seconds per
    covariance type and dtype); with the disk cache on, this also fills the
    cache, so a container image or a CI job that runs it once starts every
    later process warm.  Each (type, dtype) runs a tiny fit, from given
    responsibilities and from the E-step, and a prediction: every kernel that
    a fit, ``predict``, ``predict_proba`` and ``score_samples`` call.

    On a Dask cluster, ``client.run(fastgmm.warmup)`` warms every worker.

    Parameters
    ----------
    covariance_types : iterable of str, default=all four
    dtypes : iterable of dtype, default=(float64, float32)
    verbose : bool, default=True
        Print one line per (covariance type, dtype) with the seconds it took.
    file : file-like, default=sys.stdout

    Returns
    -------
    seconds : dict
        ``{(covariance_type, dtype name): seconds}``.
    """
    from ._estimator import GaussianMixture

    out = sys.stdout if file is None else file
    covariance_types = [covariance_types] if isinstance(covariance_types, str) else covariance_types
    dtypes = [dtypes] if isinstance(dtypes, (str, type, np.dtype)) else dtypes
    rng = np.random.default_rng(0)
    seconds = {}
    for covariance_type in covariance_types:
        if covariance_type not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}."
            )
        for dtype in dtypes:
            dtype = np.dtype(dtype)
            if dtype not in (np.float32, np.float64):
                raise ValueError(f"dtype must be float32 or float64, got {dtype}.")
            X = rng.normal(size=(64, 3)).astype(dtype)
            tic = time.perf_counter()
            # init_params="random": the statistics of given responsibilities;
            # then one E-step with statistics, and the scoring kernel
            gm = GaussianMixture(
                2, covariance_type=covariance_type, init_params="random", max_iter=1,
                random_state=0,
            )  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # one iteration
                gm.fit(X)
            gm.predict_proba(X)
            elapsed = time.perf_counter() - tic
            seconds[(covariance_type, dtype.name)] = elapsed
            if verbose:
                print(f"kernels for {covariance_type}/{dtype.name}: {elapsed:.2f} s", file=out,
                      flush=True)  # fmt: skip
    return seconds
