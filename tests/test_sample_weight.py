"""sample_weight: a weight counts as that many copies of the row."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import reference
from _helpers import COVARIANCE_TYPES, assert_fits_close, make_mixture, quiet_fit, random_start


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_duplicated_rows(covariance_type):
    X, _ = make_mixture(400, 3, 3, seed=1)
    counts = np.random.default_rng(2).integers(0, 4, len(X))
    start = random_start(X, 3, covariance_type, seed=3)
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=20, tol=0, **start)
    weighted = quiet_fit(X, counts.astype(float), **params)
    duplicated = quiet_fit(np.repeat(X, counts, axis=0), **params)
    assert_fits_close(weighted, duplicated)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_equal_removed_rows(covariance_type):
    X, _ = make_mixture(400, 3, 3, seed=4)
    keep = np.random.default_rng(5).random(len(X)) < 0.7
    start = random_start(X[keep], 3, covariance_type, seed=6)
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=20, tol=0, **start)
    weighted = quiet_fit(X, keep.astype(float), **params)
    removed = quiet_fit(X[keep], **params)
    assert_fits_close(weighted, removed)


def test_unit_weights_equal_no_weights():
    X, _ = make_mixture(300, 2, 2, seed=7)
    a = quiet_fit(X, np.ones(len(X)), n_components=2, random_state=0)
    b = quiet_fit(X, None, n_components=2, random_state=0)
    assert_fits_close(a, b, rtol=1e-13)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_em_matches_reference(covariance_type):
    X, _ = make_mixture(250, 3, 2, seed=8)
    w = np.random.default_rng(9).uniform(0.0, 5.0, len(X))
    start = random_start(X, 2, covariance_type, seed=10)
    gm = quiet_fit(
        X, w, n_components=2, covariance_type=covariance_type, max_iter=3, tol=0, **start
    )
    bounds, (weights, means, covariances) = reference.em_run(X, w, start, covariance_type, 3)
    assert_allclose(gm.lower_bounds_, bounds, rtol=1e-11)
    assert_allclose(gm.means_, means, rtol=1e-10)
    assert_allclose(gm.covariances_, covariances, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_weighted_fit_with_each_init(init_params):
    X, _ = make_mixture(500, 2, 3, seed=11)
    w = np.random.default_rng(12).integers(0, 3, len(X)).astype(float)
    gm = quiet_fit(X, w, n_components=3, init_params=init_params, random_state=0)
    assert np.isfinite(gm.lower_bound_)
    assert_allclose(gm.weights_.sum(), 1.0)


def test_weighted_score():
    X, _ = make_mixture(300, 2, 2, seed=13)
    gm = quiet_fit(X, n_components=2, random_state=0)
    w = np.random.default_rng(14).integers(0, 4, len(X))
    assert gm.score(X, sample_weight=w) == pytest.approx(
        gm.score(np.repeat(X, w, axis=0)), rel=1e-12
    )
    assert gm.score(X, sample_weight=np.ones(len(X))) == pytest.approx(gm.score(X), rel=1e-14)
