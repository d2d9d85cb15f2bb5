"""Seeded data and starts shared by the benchmarks.  Append only: changing a
generator changes the history asv compares against."""

import functools

import numpy as np


@functools.lru_cache(maxsize=8)
def mixture_data(n_samples, n_features, n_components, dtype="float64", seed=0):
    """Rows from a random Gaussian mixture (fastgmm.datasets), cached."""
    from fastgmm.datasets import make_gaussian_mixture

    X, _, _ = make_gaussian_mixture(
        n_samples, n_features, n_components, dtype=np.dtype(dtype), random_state=seed
    )
    X.setflags(write=False)
    return X


def fixed_start(X, n_components, covariance_type, seed=1):
    """weights_init, means_init, precisions_init: the same start for every library."""
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    means = np.asarray(X[rng.choice(X.shape[0], n_components, replace=False)], np.float64)
    var = np.asarray(X[:10_000], np.float64).var(axis=0).mean()
    precisions = {
        "full": np.stack([np.eye(n_features) / var] * n_components),
        "tied": np.eye(n_features) / var,
        "diag": np.full((n_components, n_features), 1 / var),
        "spherical": np.full(n_components, 1 / var),
    }[covariance_type]
    return dict(
        weights_init=np.full(n_components, 1.0 / n_components),
        means_init=means,
        precisions_init=precisions,
    )
