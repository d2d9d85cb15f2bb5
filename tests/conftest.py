import numpy as np
import pytest

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def make_mixture(n_samples=600, n_features=3, n_components=3, *, seed=0, separation=4.0,
                 offset=0.0, dtype=np.float64):
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
    """fastgmm.GaussianMixture(**params).fit(X), ConvergenceWarning silenced."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from fastgmm import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**params).fit(X, sample_weight=sample_weight)


@pytest.fixture
def small_grid(monkeypatch):
    """Shrink the block grid so small data spans several blocks and waves."""
    import fastgmm._sources as sources

    monkeypatch.setattr(sources, "BLOCK_ROWS", 16)
    monkeypatch.setattr(sources, "TILE_ROWS", 8)
    monkeypatch.setattr(sources, "MAX_WAVE_BLOCKS", 3)
    monkeypatch.setattr(sources, "INIT_CHUNK_BYTES", 16 * 8 * 3)


# scikit-learn's global fixtures, for its own tests run in test_sklearn_suite.py
# (its conftest.py is not loaded outside its package).  float32 always runs
# here: scikit-learn skips it unless SKLEARN_RUN_FLOAT32_TESTS=1.
@pytest.fixture(params=[np.float32, np.float64])
def global_dtype(request):
    return request.param


def _global_random_seeds():
    import os

    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        return [42]
    if value == "all":
        return list(range(100))
    return [int(v) for v in value.replace("-", ",").split(",")]


@pytest.fixture(params=_global_random_seeds())
def global_random_seed(request):
    return request.param
