"""Bad input raises a clear ValueError/TypeError before any kernel runs."""

import numpy as np
import pytest

from fastgmm import GaussianMixture

from _helpers import make_mixture

X_GOOD, _ = make_mixture(60, 3, 2)


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]]), ValueError, "NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [4.0, 5.0]]), ValueError, "infinity"),
        (np.array([[1.0, -np.inf], [2.0, 3.0], [4.0, 5.0]]), ValueError, "infinity"),
        (np.empty((0, 3)), ValueError, "0 sample"),
        (np.empty((5, 0)), ValueError, "0 feature"),
        (np.arange(10.0), ValueError, "Expected 2D array, got 1D array"),
        (np.ones((4, 3, 2)), ValueError, "dim 3"),
        (np.ones((1, 3)), ValueError, "minimum of 2 is required"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, "could not convert"),
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "could not convert"),
        (np.ones((4, 2), dtype=complex), ValueError, "Complex data not supported"),
    ],
)
def test_bad_X(X, error, match):
    with pytest.raises(error, match=match):
        GaussianMixture(1).fit(X)


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        GaussianMixture(5).fit(np.random.default_rng(0).normal(size=(3, 2)))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_components=0), "'n_components' parameter"),
        (dict(n_components=1.5), "'n_components' parameter"),
        (dict(reg_covar=-1.0), "'reg_covar' parameter"),
        (dict(tol=-1e-3), "'tol' parameter"),
        (dict(max_iter=1.5), "'max_iter' parameter"),
        (dict(max_iter=-3), "'max_iter' parameter"),
        (dict(n_init=0), "'n_init' parameter"),
        (dict(covariance_type="banana"), "'covariance_type' parameter"),
        (dict(init_params="banana"), "'init_params' parameter"),
        (dict(verbose_interval=0), "'verbose_interval' parameter"),
        (dict(n_threads=0), "'n_threads' parameter"),
        (dict(n_threads="many"), "'n_threads' parameter"),
        (dict(warm_start="yes"), "'warm_start' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**{"n_components": 2, **params}).fit(X_GOOD)


@pytest.mark.parametrize(
    "covariance_type, params, match",
    [
        ("full", dict(weights_init=[0.5, 0.2]), "should be normalized"),
        ("full", dict(weights_init=[1.5, -0.5]), r"should be in the range \[0, 1\]"),
        ("full", dict(weights_init=[0.5, 0.3, 0.2]), "'weights' should have the shape"),
        ("full", dict(means_init=np.zeros((2, 2))), "'means' should have the shape"),
        ("full", dict(means_init=np.zeros((3, 3))), "'means' should have the shape"),
        ("full", dict(means_init=[[0, np.nan, 0], [1, 1, 1]]), "NaN"),
        ("full", dict(precisions_init=np.ones((2, 3, 3))), "symmetric, positive-definite"),
        (
            "full",
            dict(precisions_init=np.stack([np.eye(3), -np.eye(3)])),
            "symmetric, positive-definite",
        ),
        ("full", dict(precisions_init=np.eye(3)), "'full precision' should have the shape"),
        ("tied", dict(precisions_init=np.diag([1.0, -1.0, 1.0])), "symmetric, positive-definite"),
        (
            "tied",
            dict(precisions_init=np.triu(np.ones((3, 3))) + np.eye(3)),
            "symmetric, positive-definite",
        ),
        ("diag", dict(precisions_init=-np.ones((2, 3))), "'diag precision' should be positive"),
        ("diag", dict(precisions_init=np.ones(2)), "'diag precision' should have the shape"),
        ("spherical", dict(precisions_init=[1.0, 0.0]), "'spherical precision' should be positive"),
    ],
)
def test_bad_initial_parameters(covariance_type, params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2, covariance_type=covariance_type, **params).fit(X_GOOD)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(60), "Negative values in data passed to `sample_weight`"),
        (np.r_[np.ones(59), -1.0], "Negative values"),
        (np.r_[np.ones(59), np.nan], "NaN"),
        (np.r_[np.ones(59), np.inf], "infinity"),
        (np.zeros(60), "at least one non-zero"),
        (np.ones(59), r"sample_weight.shape == \(59,\), expected \(60,\)"),
        (np.ones((60, 2)), "Sample weights must be 1D"),
    ],
)
def test_bad_sample_weight(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2).fit(X_GOOD, sample_weight=sample_weight)
    gm = GaussianMixture(2, random_state=0).fit(X_GOOD)
    with pytest.raises(ValueError, match=match):
        gm.score(X_GOOD, sample_weight=sample_weight)


def test_predict_with_other_n_features():
    gm = GaussianMixture(2, random_state=0).fit(X_GOOD)
    for method in (gm.predict, gm.predict_proba, gm.score_samples, gm.score):
        with pytest.raises(
            ValueError,
            match="X has 2 features, but GaussianMixture is expecting 3 features as input",
        ):
            method(X_GOOD[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        gm.predict(np.full((2, 3), np.nan))


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GaussianMixture(2).predict(X_GOOD)


def test_collapsed_component_raises_sklearns_message():
    X = np.zeros((20, 2))
    X[10:] = 1.0
    with pytest.raises(ValueError, match="ill-defined empirical covariance.*increase reg_covar"):
        GaussianMixture(2, reg_covar=0.0, init_params="random_from_data", random_state=0).fit(X)


def test_float32_collapse_message_suggests_float64():
    X = np.zeros((20, 2), dtype=np.float32)
    X[10:] = 1.0
    with pytest.raises(ValueError, match="passing float64"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # sklearn's KMeans overflows
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_overflowing_values_raise_not_nan():
    X = np.random.default_rng(0).normal(size=(50, 2)) * 1e200
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, random_state=0).fit(X)


def test_sample_needs_positive_n_samples():
    gm = GaussianMixture(2, random_state=0).fit(X_GOOD)
    with pytest.raises(ValueError, match="Invalid value for 'n_samples'"):
        gm.sample(0)
