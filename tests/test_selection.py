"""fastgmm.select_mixture: the grid of fits, their criteria, the best model."""

import numpy as np
import pytest
import sklearn.mixture
from numpy.testing import assert_allclose

from fastgmm import GaussianMixture, select_mixture
from fastgmm._sources import ArraySource

from _helpers import COVARIANCE_TYPES, make_mixture


@pytest.fixture(scope="module")
def three_blobs():
    return make_mixture(900, 2, 3, seed=3, separation=8.0)[0]


def _sklearn_model(model):
    """scikit-learn's estimator holding fastgmm's fitted parameters."""
    ref = sklearn.mixture.GaussianMixture(model.n_components, covariance_type=model.covariance_type)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        setattr(ref, name, getattr(model, name))
    ref.n_features_in_ = model.n_features_in_
    ref.converged_ = True
    return ref


def test_finds_the_true_number_of_components(three_blobs):
    selection = select_mixture(three_blobs, range(1, 7), random_state=0)
    assert selection.best.n_components == 3
    assert selection.best is selection.table[selection.best_index]["model"]
    assert [row["n_components"] for row in selection.table] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_criteria_are_those_of_the_returned_models(three_blobs, covariance_type):
    # scikit-learn's bic/aic on the same parameters: an independent reference
    selection = select_mixture(three_blobs, [1, 3, 4], covariance_type, random_state=1)
    for row in selection.table:
        ref = _sklearn_model(row["model"])
        assert_allclose(row["bic"], ref.bic(three_blobs), rtol=1e-10)
        assert_allclose(row["aic"], ref.aic(three_blobs), rtol=1e-10)
        assert_allclose(row["log_likelihood"], ref.score(three_blobs), rtol=1e-10)
        assert_allclose(row["bic"], row["model"].bic(three_blobs), rtol=1e-10)
        assert row["n_parameters"] == ref._n_parameters()


def test_no_scoring_pass(three_blobs, monkeypatch):
    # the criteria come from each fit's final E-step, not from scoring again
    def fail(*args, **kwargs):
        raise AssertionError("a scoring pass over the data")

    monkeypatch.setattr(ArraySource, "score", fail)
    selection = select_mixture(three_blobs, [2, 3], random_state=0)
    assert len(selection.table) == 2


def test_each_candidate_is_the_plain_fit(three_blobs):
    selection = select_mixture(three_blobs, [2], ["diag", "tied"], random_state=4, n_init=2)
    for row in selection.table:
        plain = GaussianMixture(
            2, covariance_type=row["covariance_type"], random_state=4, n_init=2
        ).fit(three_blobs)
        np.testing.assert_array_equal(plain.means_, row["model"].means_)


def test_aic_and_all_types(three_blobs):
    selection = select_mixture(three_blobs, [2, 3], "all", criterion="aic", random_state=0)
    assert {row["covariance_type"] for row in selection.table} == set(COVARIANCE_TYPES)
    aics = [row["aic"] for row in selection.table]
    assert selection.best_index == int(np.argmin(aics))
    assert selection.criterion == "aic"


def test_weights_count_as_repeated_rows():
    X = make_mixture(300, 2, 2, seed=5, separation=6.0)[0]
    w = np.random.default_rng(0).integers(0, 3, len(X))
    repeated = np.repeat(X, w, axis=0)
    # random_from_data draws differently with weights: start both from means
    means = np.array([X[w > 0][0], X[w > 0][-1]])
    weighted = select_mixture(X, [2], sample_weight=w.astype(float), means_init=means, tol=1e-8)
    plain = select_mixture(repeated, [2], means_init=means, tol=1e-8)
    assert_allclose(weighted.table[0]["bic"], plain.table[0]["bic"], rtol=1e-8)
    assert_allclose(weighted.table[0]["aic"], plain.table[0]["aic"], rtol=1e-8)


def test_progress_and_callback(three_blobs, capsys):
    seen = []
    select_mixture(three_blobs, [1, 2], verbose=1, callback=seen.append, random_state=0)
    err = capsys.readouterr().err
    assert "[1/2] full, 1 components: BIC" in err and "[2/2] full, 2 components" in err
    assert [row["n_components"] for row in seen] == [1, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(criterion="likelihood"), ValueError, "criterion must be 'bic' or 'aic'"),
        (dict(n_components=[0, 2]), ValueError, "integers >= 1"),
        (dict(n_components=[]), ValueError, "at least one component count"),
        (dict(covariance_types="round"), ValueError, "covariance_types must be among"),
        (dict(covariance_types=[]), ValueError, "at least one covariance type"),
        (dict(covariance_type="diag"), TypeError, "pass n_components= and covariance_types="),
        (dict(tol=-1.0), ValueError, "'tol' parameter"),
    ],
)
def test_bad_arguments(three_blobs, kwargs, error, match):
    with pytest.raises(error, match=match):
        select_mixture(three_blobs, **{"n_components": [1, 2], **kwargs})
