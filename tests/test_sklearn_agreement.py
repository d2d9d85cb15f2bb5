"""fastgmm against scikit-learn itself, from the same start."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from fastgmm import GaussianMixture

import reference
from _helpers import COVARIANCE_TYPES, FITTED_PARAMETERS, make_mixture, random_start


def assert_same_fit(ours, theirs, rtol):
    for name in FITTED_PARAMETERS:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.shape == b.shape, name
        assert a.dtype == b.dtype, name
        # relative to the scale of the attribute: off-diagonal terms near 0
        assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    # A start from single points (k-means++, random_from_data) has covariances
    # of reg_covar and a first lower bound near -1e6, where sklearn's expanded
    # quadratic form for diag/spherical (x^2 p - 2 x mu p + mu^2 p) keeps only
    # ~8 digits; fastgmm computes ((x - mu) p)^2 directly.
    first_rtol = rtol if abs(theirs.lower_bounds_[0]) < 1e3 else 1e-6
    assert_allclose(ours.lower_bounds_[0], theirs.lower_bounds_[0], rtol=first_rtol)
    assert_allclose(ours.lower_bounds_[1:], theirs.lower_bounds_[1:], rtol=rtol)


def fit_both(X, **params):
    ours = GaussianMixture(**params).fit(X)
    theirs = SkGaussianMixture(**params).fit(X)
    return ours, theirs


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_same_result(covariance_type):
    X, _ = make_mixture(2000, 4, 3, seed=1)
    start = random_start(X, 3, covariance_type, 2)
    ours, theirs = fit_both(
        X, n_components=3, covariance_type=covariance_type, tol=1e-6, max_iter=30, **start
    )
    assert_same_fit(ours, theirs, 1e-8)
    assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-7, atol=1e-8)


# scikit-learn's float32 tied M-step forms its scatter as raw moments in one
# float32 BLAS product (X^T X minus the means' moments), which loses digits,
# and how many depends on how BLAS splits the product over its threads: on
# some machines its weights then differ from the exact ones by 3e-4.  There
# fastgmm is compared with the float64 reference only.
SKLEARN_FLOAT32_ACCURATE = {"full", "diag", "spherical"}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_float32(covariance_type):
    """float32 in, float32 out, within 1e-4 of the float64 reference run on
    the same float32 numbers (and of scikit-learn where it is accurate)."""
    X, _ = make_mixture(2000, 4, 3, seed=1, dtype=np.float32)
    # a float32 start keeps sklearn in float32 throughout (a float64 one promotes)
    start = {k: v.astype(np.float32) for k, v in random_start(X, 3, covariance_type, 2).items()}
    ours = GaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=10, **start)
    ours.fit(X)
    for name in FITTED_PARAMETERS:
        assert getattr(ours, name).dtype == np.float32, name

    lower_bounds, (weights, means, covariances) = reference.em_run(
        X.astype(np.float64),
        None,
        {k: v.astype(np.float64) for k, v in start.items()},
        covariance_type,
        10,
    )
    assert_allclose(ours.lower_bounds_, lower_bounds, rtol=1e-5)
    assert_allclose(ours.weights_, weights, rtol=1e-4)
    assert_allclose(ours.means_, means, rtol=1e-4, atol=1e-4 * np.abs(means).max())
    assert_allclose(
        ours.covariances_, covariances, rtol=1e-4, atol=1e-4 * np.abs(covariances).max()
    )

    if covariance_type in SKLEARN_FLOAT32_ACCURATE:
        theirs = SkGaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=10, **start)
        theirs.fit(X)
        assert_same_fit(ours, theirs, 1e-4)
        assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-4)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_from_origin_matches_two_pass_reference(covariance_type):
    """Data offset by 1e5: shifted statistics keep the digits raw moments lose.

    scikit-learn's tied and diag M-steps subtract raw moments (its issue
    #30382) and drift from the two-pass reference here; fastgmm does not.
    """
    X, _ = make_mixture(1500, 3, 2, seed=3, offset=1e5)
    start = random_start(X, 2, covariance_type, seed=4)
    ours = GaussianMixture(2, covariance_type=covariance_type, max_iter=5, tol=0, **start)
    ours.fit(X)

    lower_bounds, (weights, means, covariances) = reference.em_run(
        X, None, start, covariance_type, 5
    )
    assert_allclose(ours.lower_bounds_, lower_bounds, rtol=1e-10)
    assert_allclose(ours.weights_, weights, rtol=1e-10)
    assert_allclose(ours.means_, means, rtol=1e-12)
    assert_allclose(
        ours.covariances_, covariances, rtol=1e-8, atol=1e-8 * np.abs(covariances).max()
    )


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_random_state_same_result(init_params, covariance_type):
    """sklearn's initial partition is drawn from the same random stream."""
    X, _ = make_mixture(800, 3, 3, seed=5)
    ours, theirs = fit_both(
        X,
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=7,
        max_iter=50,
    )
    assert_same_fit(ours, theirs, 1e-8)
    assert_array_equal(ours.predict(X), theirs.predict(X))


def test_n_init_keeps_the_best_like_sklearn():
    # Restarts that reach the same optimum (up to a permutation) tie to
    # rounding, so compare the selected lower bound, not the labelling.
    X, _ = make_mixture(800, 2, 5, seed=13, separation=2.0)
    ours, theirs = fit_both(
        X,
        n_components=5,
        init_params="random_from_data",
        random_state=3,
        n_init=4,
        tol=1e-8,
        max_iter=500,
    )
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-8)
    single = [
        GaussianMixture(
            5,
            init_params="random_from_data",
            tol=1e-8,
            max_iter=500,
            random_state=np.random.RandomState(3),
        )
        .fit(X)
        .lower_bound_
    ]
    assert ours.lower_bound_ >= max(single) - 1e-12


def test_warm_start_matches_sklearn():
    X, _ = make_mixture(1000, 2, 3, seed=6)
    kwargs = dict(n_components=3, warm_start=True, max_iter=2, random_state=0)
    ours, theirs = GaussianMixture(**kwargs), SkGaussianMixture(**kwargs)
    for _ in range(3):
        ours.fit(X)
        theirs.fit(X)
        assert_same_fit(ours, theirs, 1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict(covariance_type):
    X, _ = make_mixture(500, 3, 4, seed=8)
    for max_iter in (1, 100):
        gm = GaussianMixture(4, covariance_type=covariance_type, max_iter=max_iter, random_state=0)
        labels = gm.fit_predict(X)
        assert_array_equal(labels, gm.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_methods_match_sklearn(covariance_type):
    X, _ = make_mixture(600, 3, 3, seed=9)
    ours, theirs = fit_both(X, n_components=3, covariance_type=covariance_type, random_state=1)
    X_new, _ = make_mixture(50, 3, 3, seed=10)
    assert_allclose(ours.score(X_new), theirs.score(X_new), rtol=1e-9)
    assert_allclose(ours.bic(X_new), theirs.bic(X_new), rtol=1e-9)
    assert_allclose(ours.aic(X_new), theirs.aic(X_new), rtol=1e-9)
    assert_array_equal(ours.predict(X_new), theirs.predict(X_new))
    # the same draws from the same random_state
    a, la = ours.sample(200)
    b, lb = theirs.sample(200)
    assert_allclose(a, b, rtol=1e-7, atol=1e-7)
    assert_array_equal(la, lb)
    assert a.dtype == b.dtype and la.dtype == lb.dtype
    # and against the slow reference
    assert_allclose(
        ours.score_samples(X_new),
        reference.score_samples(
            X_new, ours.weights_, ours.means_, ours.covariances_, covariance_type
        ),
        rtol=1e-10,
    )


def test_verbose_output_matches_sklearn(capsys):
    X, _ = make_mixture(300, 2, 2, seed=11)
    for verbose in (1, 2):
        kwargs = dict(n_components=2, verbose=verbose, verbose_interval=1, random_state=0)
        GaussianMixture(**kwargs).fit(X)
        ours = capsys.readouterr().out
        SkGaussianMixture(**kwargs).fit(X)
        theirs = capsys.readouterr().out

        def shape(text):  # the timings differ, the words may not
            return [line.split("time")[0] for line in text.splitlines()]

        assert shape(ours) == shape(theirs)
        assert ours


def test_convergence_warning_like_sklearn():
    X, _ = make_mixture(300, 2, 2, seed=12)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GaussianMixture(2, max_iter=1, tol=0, random_state=0).fit(X)


def test_float32_stays_float32():
    X, _ = make_mixture(500, 3, 2, dtype=np.float32)
    gm = GaussianMixture(2, random_state=0).fit(X)
    for name in FITTED_PARAMETERS:
        assert getattr(gm, name).dtype == np.float32, name
    assert gm.score_samples(X).dtype == np.float32
    assert gm.predict_proba(X).dtype == np.float32


def test_pickle_round_trip():
    X, _ = make_mixture(300, 2, 2)
    gm = GaussianMixture(2, random_state=0).fit(X)
    clone = pickle.loads(pickle.dumps(gm))
    assert_array_equal(clone.score_samples(X), gm.score_samples(X))


def test_params_are_sklearns_plus_fastgmms_keywords():
    ours = set(GaussianMixture().get_params())
    theirs = set(SkGaussianMixture().get_params())
    extra = {"n_threads", "chunk_size", "learning_decay", "learning_offset", "on_degenerate"}
    assert ours == theirs | extra
    for name in theirs:
        assert GaussianMixture().get_params()[name] == SkGaussianMixture().get_params()[name]
    assert GaussianMixture().on_degenerate == "raise"  # scikit-learn's behaviour


def test_bayesian_params_are_sklearns_plus_fastgmms_keywords():
    from sklearn.mixture import BayesianGaussianMixture as SkBayesian

    from fastgmm import BayesianGaussianMixture

    ours, theirs = BayesianGaussianMixture().get_params(), SkBayesian().get_params()
    assert set(ours) == set(theirs) | {"n_threads", "chunk_size", "on_degenerate"}
    for name in theirs:
        assert ours[name] == theirs[name], name


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X, _ = make_mixture(100, 2, 2)
    df = pd.DataFrame(X, columns=["a", "b"])
    gm = GaussianMixture(2, random_state=0).fit(df)
    assert list(gm.feature_names_in_) == ["a", "b"]
    assert gm.n_features_in_ == 2
