"""Drop-in conformance found by running real clients of scikit-learn's
GaussianMixture: max_iter=0, its private read-only methods, its pickles under
patch_sklearn(), its words, and inputs whose scale or layout broke fits."""

import pickle
import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import fastgmm
from fastgmm import GaussianMixture

import reference
from _helpers import COVARIANCE_TYPES, FITTED_PARAMETERS, make_mixture, random_start


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_max_iter_zero_is_sklearns_initialisation(covariance_type, init_params):
    X, _ = make_mixture(400, 3, 3, seed=2)
    kwargs = dict(
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=4,
        max_iter=0,
        n_init=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # none, as in sklearn
        ours = GaussianMixture(**kwargs).fit(X)
        theirs = SkGaussianMixture(**kwargs).fit(X)
    # Starts from single points have covariances of exactly reg_covar (1e-6),
    # where scikit-learn's raw moments for diag and spherical leave rounding
    # of up to ~2e-13: compared at 1e-6 there, and fastgmm's checked exact.
    rtol = 1e-10 if init_params in ("kmeans", "random") else 1e-6
    if rtol == 1e-6 and covariance_type in ("diag", "spherical"):
        assert_allclose(ours.covariances_, 1e-6, rtol=1e-12)
    for name in FITTED_PARAMETERS:
        assert_allclose(
            getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=1e-12, err_msg=name
        )
    assert ours.n_iter_ == theirs.n_iter_ == 0
    assert ours.lower_bound_ == theirs.lower_bound_ == -np.inf
    assert ours.lower_bounds_ == theirs.lower_bounds_ == []
    assert ours.converged_ is theirs.converged_ is False
    assert_array_equal(ours.predict(X), theirs.predict(X))


def test_max_iter_zero_with_every_init_given_has_covariances():
    X, _ = make_mixture(300, 2, 2, seed=3)
    start = random_start(X, 2, "full", seed=1)
    gm = GaussianMixture(2, max_iter=0, **start).fit(X)
    assert_allclose(gm.precisions_, start["precisions_init"], rtol=1e-12)
    assert_allclose(gm.covariances_, np.linalg.inv(start["precisions_init"]), rtol=1e-10)


# scikit-learn's test for its issue #18216, whose data puts two components
# on one point each (see test_sklearn_suite.py for why it is run here).
_MEANS_18216 = np.array(
    [
        [0.670637869618158, 0.21038256107384043, 0.12892629765485303],
        [0.09394051075844147, 0.5759464955561779, 0.929296197576212],
        [0.5033230372781258, 0.9569852381759425, 0.08654043447295741],
        [0.18578301420435747, 0.5531158970919143, 0.19388943970532435],
        [0.4548589928173794, 0.35182513658825276, 0.568146063202464],
        [0.609279894978321, 0.7929063819678847, 0.9620097270828052],
    ]
)
_PRECISIONS_18216 = np.array(
    [
        999999.999604483,
        999999.9990869573,
        553.7603944542167,
        204.78596008931834,
        15.867423501783637,
        85.4595728389735,
    ]
)
_WEIGHTS_18216 = np.array([1, 1, 2, 2, 21, 3]) / 30.0


def _gmm_18216(cls, reg_covar):
    return cls(
        covariance_type="spherical",
        reg_covar=reg_covar,
        means_init=_MEANS_18216,
        weights_init=_WEIGHTS_18216,
        precisions_init=_PRECISIONS_18216,
        random_state=0,
        n_components=6,
        max_iter=1,
    )


def test_sklearn_18216_singletons_with_reg_covar_zero():
    X = np.random.RandomState(0).uniform(size=(30, 3))
    # the exact responsibilities give two components one point each: their
    # variance about their own new mean is exactly zero
    resp = reference.responsibilities(
        X, _WEIGHTS_18216, _MEANS_18216, 1.0 / _PRECISIONS_18216, "spherical"
    )
    for k in (0, 1):
        assert np.sum(resp[:, k] > 1e-12) == 1
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        _gmm_18216(GaussianMixture, 0.0).fit(X)
    # What the test protects: after one (diverging) iteration the best
    # parameters, n_iter_ and the lower bounds are set, as scikit-learn's.
    ours = _gmm_18216(GaussianMixture, 1e-10).fit(X)
    theirs = _gmm_18216(SkGaussianMixture, 1e-10).fit(X)
    assert not ours.converged_
    assert ours.n_iter_ == theirs.n_iter_ == 1
    assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-8)
    assert_allclose(ours.weights_, theirs.weights_, rtol=1e-8)
    assert_allclose(ours.means_, theirs.means_, rtol=1e-8)
    # sklearn's raw moments add ~1e-16 of rounding to the singletons' 1e-10
    assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-5)


def test_score_is_the_mean_of_score_samples_in_their_dtype():
    X, _ = make_mixture(3000, 3, 2, seed=4, dtype=np.float32)
    gm = GaussianMixture(2, random_state=0).fit(X)
    assert gm.score(X) == float(gm.score_samples(X).mean())
    X64 = X.astype(np.float64)
    assert gm.score(X64) == float(gm.score_samples(X64).mean())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_private_read_only_methods_match_sklearn(covariance_type):
    X, _ = make_mixture(500, 3, 3, seed=5)
    theirs = SkGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    ours = GaussianMixture(3, covariance_type=covariance_type)
    ours._set_parameters(theirs._get_parameters())
    ours.n_features_in_ = 3
    for a, b in zip(ours._get_parameters(), theirs._get_parameters()):
        assert a is b
    assert_allclose(ours.precisions_, theirs.precisions_, rtol=1e-12)
    assert_allclose(ours._estimate_log_weights(), theirs._estimate_log_weights())
    for name in ("_estimate_log_prob", "_estimate_weighted_log_prob"):
        assert_allclose(getattr(ours, name)(X), getattr(theirs, name)(X), rtol=1e-10, err_msg=name)
    for a, b in zip(ours._estimate_log_prob_resp(X), theirs._estimate_log_prob_resp(X)):
        assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    mean_a, resp_a = ours._e_step(X)
    mean_b, resp_b = theirs._e_step(X)
    assert_allclose(mean_a, mean_b, rtol=1e-12)
    assert_allclose(resp_a, resp_b, rtol=1e-9, atol=1e-9)
    assert ours._compute_lower_bound(None, mean_a) == mean_a
    assert ours._n_parameters() == theirs._n_parameters()


def test_sklearn_pickle_unpickled_while_patched():
    X, _ = make_mixture(400, 2, 3, seed=6)
    theirs = SkGaussianMixture(3, random_state=0).fit(X)
    blob = pickle.dumps(theirs)
    with fastgmm.sklearn_patched():
        back = pickle.loads(blob)
    assert isinstance(back, GaussianMixture)
    assert back.get_params()["n_threads"] is None and back.chunk_size is None
    assert "GaussianMixture" in repr(back)
    assert_array_equal(back.predict(X), theirs.predict(X))
    assert_allclose(back.score_samples(X), theirs.score_samples(X), rtol=1e-10)


@pytest.mark.parametrize("name", ["weights_init", "means_init", "precisions_init"])
def test_nan_in_init_says_input_contains_nan_as_sklearn(name):
    X, _ = make_mixture(100, 2, 2, seed=7)
    start = random_start(X, 2, "diag", seed=0)
    start[name] = start[name].copy()
    start[name].flat[0] = np.nan
    for cls in (GaussianMixture, SkGaussianMixture):
        with pytest.raises(ValueError, match=r"^Input contains NaN\.$"):
            cls(2, covariance_type="diag", **{name: start[name]}).fit(X)


@pytest.mark.parametrize("scale", [1e-310, 1e-20, 1e306])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_weights_that_scale_together_give_the_unweighted_fit(scale, covariance_type):
    X, _ = make_mixture(600, 2, 3, seed=8)
    kwargs = dict(n_components=3, covariance_type=covariance_type, random_state=1)
    plain = GaussianMixture(**kwargs).fit(X)
    weighted = GaussianMixture(**kwargs).fit(X, sample_weight=np.full(len(X), scale))
    for name in FITTED_PARAMETERS:
        assert_allclose(getattr(weighted, name), getattr(plain, name), rtol=1e-10, err_msg=name)
    assert_allclose(weighted.lower_bounds_, plain.lower_bounds_, rtol=1e-12)
    assert np.isfinite(weighted.score(X, sample_weight=np.full(len(X), scale)))
    assert_allclose(
        weighted.score(X, sample_weight=np.full(len(X), scale)), plain.score(X), rtol=1e-12
    )


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_init_sample_is_drawn_among_weighted_rows(init_params):
    # 300,000 rows (beyond the 2^17-row sample), weight on a few of them only
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300_000, 2))
    w = np.zeros(len(X))
    heavy = [17, 250_001, 123_456, 99]
    w[heavy] = 1.0
    X[heavy] = [[0, 0], [0.1, 0], [10, 10], [10.1, 10]]
    gm = GaussianMixture(2, init_params=init_params, random_state=0, reg_covar=1e-3)
    gm.fit(X, sample_weight=w)
    assert_allclose(np.sort(gm.means_[:, 0]), [0.05, 10.05], atol=1e-6)


def test_concurrent_fits_leave_blas_threads_as_they_were():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return sorted(
            (i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"
        )

    before = blas_threads()
    X, _ = make_mixture(20_000, 4, 4, seed=10)
    barrier = threading.Barrier(3)
    errors = []

    def fit(seed):
        try:
            barrier.wait()
            for _ in range(3):
                GaussianMixture(4, random_state=seed, max_iter=5, tol=0).fit(X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert blas_threads() == before


def test_dask_fit_predict_and_unknown_chunk_sizes():
    da = pytest.importorskip("dask.array")
    X, _ = make_mixture(3000, 3, 3, seed=11)
    dX = da.from_array(X, chunks=(700, 3))
    kwargs = dict(n_components=3, random_state=0)
    labels = GaussianMixture(**kwargs).fit_predict(dX)
    assert_array_equal(np.asarray(labels), GaussianMixture(**kwargs).fit_predict(X))

    keep = X[:, 0] > -1e9  # every row, but Dask cannot know the chunk sizes
    masked = dX[da.from_array(keep, chunks=700)]
    assert any(np.isnan(c) for c in masked.chunks[0])
    gm = GaussianMixture(**kwargs).fit(masked)
    assert_allclose(gm.means_, GaussianMixture(**kwargs).fit(X).means_, rtol=1e-10)
    w = da.from_array(np.ones(len(X)), chunks=700)[da.from_array(keep, chunks=700)]
    gm_w = GaussianMixture(**kwargs).fit(masked, sample_weight=w)
    assert_allclose(gm_w.means_, gm.means_, rtol=1e-10)
