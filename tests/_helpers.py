"""Plain helpers shared by the tests (fixtures live in conftest.py)."""

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def make_mixture(
    n_samples=600,
    n_features=3,
    n_components=3,
    *,
    seed=0,
    separation=4.0,
    offset=0.0,
    dtype=np.float64,
):
    """Rows drawn from a known Gaussian mixture with random full covariances."""
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=separation, size=(n_components, n_features)) + offset
    labels = rng.integers(n_components, size=n_samples)
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        A = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
        cov = A @ A.T + 0.3 * np.eye(n_features)
        idx = labels == k
        X[idx] = rng.multivariate_normal(means[k], cov, size=idx.sum())
    return X.astype(dtype), labels


def random_start(X, n_components, covariance_type, seed=0):
    """A fixed start (weights, means, precisions) of sklearn's shapes."""
    rng = np.random.default_rng(seed)
    n_features = X.shape[1]
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = X[rng.choice(len(X), n_components, replace=False)].astype(np.float64)
    scale = np.var(np.asarray(X, dtype=np.float64), axis=0).mean()
    if covariance_type == "full":
        precisions = np.stack([np.eye(n_features) / scale] * n_components)
        precisions[:, 0, 1] = precisions[:, 1, 0] = 0.1 / scale
    elif covariance_type == "tied":
        precisions = np.eye(n_features) / scale
        precisions[0, 1] = precisions[1, 0] = 0.1 / scale
    elif covariance_type == "diag":
        precisions = rng.uniform(0.5, 2.0, size=(n_components, n_features)) / scale
    else:
        precisions = rng.uniform(0.5, 2.0, size=n_components) / scale
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def quiet_fit(X, sample_weight=None, **params):
    """fastgmm.GaussianMixture(**params).fit(X) (the suite ignores
    ConvergenceWarning: see filterwarnings in pyproject.toml)."""

    from fastgmm import GaussianMixture

    return GaussianMixture(**params).fit(X, sample_weight=sample_weight)


#: The fitted parameters of a GaussianMixture, as scikit-learn names them.
FITTED_PARAMETERS = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def assert_fits_close(a, b, rtol=1e-10):
    """Two fits agree: every parameter (relative to its largest value, so
    off-diagonal terms near 0 are compared sensibly), the lower bounds, and
    the number of iterations."""
    for name in FITTED_PARAMETERS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape, name
        assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(), err_msg=name)
    assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_


def assert_fits_bitwise_equal(a, b):
    """Two fits are the same to the last bit."""
    for name in FITTED_PARAMETERS:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_


def jitted_call(helper):
    """``helper`` (a kernel helper: compiled only into the block functions,
    with no Python wrapper, so that calling it from Python would crash),
    callable from Python through a jitted function of the test's."""
    from numba import njit

    @njit
    def call(*args):
        return helper(*args)

    return call
