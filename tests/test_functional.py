"""The functional layer against the estimator and the reference."""

import doctest

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm.functional as F
from fastgmm import GaussianMixture

import reference
from _helpers import COVARIANCE_TYPES, make_mixture


@pytest.fixture(scope="module")
def fitted():
    X, _ = make_mixture(1000, 3, 3, seed=0)
    models = {}
    for ct in COVARIANCE_TYPES:
        models[ct] = GaussianMixture(3, covariance_type=ct, random_state=0, max_iter=3).fit(X)
    return X, models


def params_of(gm):
    return dict(
        weights=gm.weights_,
        means=gm.means_,
        precisions_cholesky=gm.precisions_cholesky_,
        covariance_type=gm.covariance_type,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scores_match_estimator_and_reference(fitted, covariance_type):
    X, models = fitted
    gm = models[covariance_type]
    p = params_of(gm)
    lp = F.log_prob(X, **p)
    assert lp.shape == (len(X), 3) and lp.dtype == X.dtype
    assert_allclose(
        lp,
        reference.weighted_log_prob(X, gm.weights_, gm.means_, gm.covariances_, covariance_type),
        rtol=1e-10,
    )
    assert_array_equal(F.score_samples(X, **p), gm.score_samples(X))
    assert_array_equal(F.responsibilities(X, **p), gm.predict_proba(X))
    assert_array_equal(lp.argmax(axis=1), gm.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_and_m_step_are_one_em_iteration(fitted, covariance_type):
    X, models = fitted
    gm = models[covariance_type]
    w = np.random.default_rng(1).uniform(0, 2, len(X))
    stats = F.sufficient_statistics(
        X[:400], **params_of(gm), sample_weight=w[:400]
    ) + F.sufficient_statistics(X[400:], **params_of(gm), sample_weight=w[400:])
    weights, means, covariances, prec_chol = F.m_step(stats, reg_covar=1e-6)

    ll, (r_weights, r_means, r_covariances) = reference.em_step(
        X, w, gm.weights_, gm.means_, gm.covariances_, covariance_type, 1e-6
    )
    assert_allclose(stats.log_likelihood / stats.sum_weight, ll, rtol=1e-11)
    assert_allclose(weights, r_weights, rtol=1e-10)
    assert_allclose(means, r_means, rtol=1e-10)
    assert_allclose(covariances, r_covariances, rtol=1e-9, atol=1e-12)

    # one more estimator iteration from the same parameters gives the same
    one = GaussianMixture(
        3,
        covariance_type=covariance_type,
        max_iter=1,
        weights_init=gm.weights_,
        means_init=gm.means_,
        precisions_init=gm.precisions_,
    ).fit(X, sample_weight=w)
    assert_allclose(one.means_, means, rtol=1e-10)
    assert_allclose(one.covariances_, covariances, rtol=1e-9)


def test_bad_arguments():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="covariance_type"):
        F.log_prob(X, [1.0], [[0, 0]], [1.0], covariance_type="banana")
    with pytest.raises(ValueError, match="means has shape"):
        F.log_prob(X, [1.0], [[0, 0, 0]], [1.0], covariance_type="spherical")
    with pytest.raises(ValueError, match="sample_weight.shape"):
        F.sufficient_statistics(X, [1.0], [[0, 0]], [1.0], "spherical", sample_weight=np.ones(3))


def test_doctest():
    result = doctest.testmod(F)
    assert result.attempted > 0 and result.failed == 0


BAD_PARAMETERS = {
    "means (3, 3) against one factor": (
        "full",
        dict(weights=np.ones(3) / 3, means=np.zeros((3, 3)), precisions_cholesky=np.eye(3)[None]),
        "precisions_cholesky has shape",
    ),
    "a diag factor of the wrong shape": (
        "diag",
        dict(weights=np.ones(3) / 3, means=np.zeros((3, 3)), precisions_cholesky=np.ones((3, 2))),
        "precisions_cholesky has shape",
    ),
    "one weight for three components": (
        "spherical",
        dict(weights=[1.0], means=np.zeros((3, 3)), precisions_cholesky=np.ones(3)),
        "weights has shape",
    ),
    "means narrower than X": (
        "diag",
        dict(weights=[1.0], means=np.zeros((1, 2)), precisions_cholesky=np.ones((1, 2))),
        "means has shape",
    ),
    "many components, one factor": (
        "full",
        dict(
            weights=np.ones(5000) / 5000,
            means=np.zeros((5000, 3)),
            precisions_cholesky=np.eye(3)[None],
        ),
        "precisions_cholesky has shape",
    ),
    "a tied factor that is not upper triangular": (
        "tied",
        dict(
            weights=np.ones(3) / 3,
            means=np.zeros((3, 3)),
            precisions_cholesky=np.tril(np.ones((3, 3))),
        ),
        "upper triangular",
    ),
    "NaN means": (
        "diag",
        dict(weights=[1.0], means=[[np.nan, 0, 0]], precisions_cholesky=np.ones((1, 3))),
        "NaN",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PARAMETERS))
@pytest.mark.parametrize(
    "function", ["log_prob", "score_samples", "responsibilities", "sufficient_statistics"]
)
def test_mismatched_parameters_raise_before_any_kernel(case, function):
    covariance_type, params, message = BAD_PARAMETERS[case]
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match=message):
        getattr(F, function)(X, covariance_type=covariance_type, **params)


def test_bad_x_and_weights_raise():
    p = dict(
        weights=[1.0], means=[[0.0, 0.0]], precisions_cholesky=[[1.0, 1.0]], covariance_type="diag"
    )
    with pytest.raises(ValueError, match="NaN"):
        F.score_samples(np.array([[np.nan, 0.0]]), **p)
    with pytest.raises(ValueError, match="Negative values"):
        F.sufficient_statistics(np.zeros((2, 2)), sample_weight=[1.0, -1.0], **p)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        F.sufficient_statistics(np.zeros((2, 2)), sample_weight=[1.0], **p)
