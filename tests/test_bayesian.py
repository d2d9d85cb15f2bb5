"""BayesianGaussianMixture: scikit-learn's results from the same start, the
slow reference of tests/reference.py, and what fastgmm adds (weights,
float32, threads, memory maps, files, errors in scikit-learn's words).
scikit-learn's own test_bayesian_mixture.py runs in test_sklearn_suite.py."""

import copy
import io
import tracemalloc
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.mixture import BayesianGaussianMixture as SkBayesian

import fastgmm
from fastgmm import BayesianGaussianMixture

import reference
from _helpers import COVARIANCE_TYPES, make_mixture

PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
POSTERIOR = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "mean_precision_",
    "degrees_of_freedom_",
]
PRIORS = [
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
]


@pytest.fixture(scope="module")
def X():
    return make_mixture(900, 3, 3, seed=4)[0]


def _close(a, b, rtol, name):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, name
    assert_allclose(a, b, rtol=rtol, atol=rtol * max(np.abs(b).max(), 1e-300), err_msg=name)


def assert_bayesian_close(ours, theirs, rtol):
    for name in POSTERIOR + PRIORS:
        _close(getattr(ours, name), getattr(theirs, name), rtol, name)
    _close(np.ravel(ours.weight_concentration_), np.ravel(theirs.weight_concentration_), rtol, "wc")
    assert type(ours.weight_concentration_) is type(theirs.weight_concentration_)
    # scikit-learn's 'tied' bounds are arrays of shape (1,); fastgmm's are floats
    assert all(isinstance(v, float) for v in ours.lower_bounds_ + [ours.lower_bound_])
    assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=rtol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_equals_sklearn_float64(X, covariance_type, prior_type):
    params = dict(
        n_components=5,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        random_state=2,
        max_iter=60,
    )
    ours = BayesianGaussianMixture(**params).fit(X)
    theirs = SkBayesian(**params).fit(X)
    assert_bayesian_close(ours, theirs, 1e-8)
    Y = X[::7] + 0.3
    assert_array_equal(ours.predict(Y), theirs.predict(Y))
    assert_allclose(ours.predict_proba(Y), theirs.predict_proba(Y), rtol=1e-8, atol=1e-12)
    assert_allclose(ours.score_samples(Y), theirs.score_samples(Y), rtol=1e-9)
    assert ours.score(Y) == pytest.approx(theirs.score(Y), rel=1e-9)
    assert_allclose(ours._estimate_log_prob(Y), theirs._estimate_log_prob(Y), rtol=1e-9)
    assert_allclose(ours._estimate_log_weights(), theirs._estimate_log_weights(), rtol=1e-9)


@pytest.mark.parametrize("init_params", ["random", "random_from_data", "k-means++"])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_every_init_and_given_priors_equal_sklearn(X, init_params, covariance_type):
    params = dict(
        n_components=4,
        covariance_type=covariance_type,
        init_params=init_params,
        n_init=2,
        random_state=0,
        weight_concentration_prior=0.5,
        mean_precision_prior=0.1,
        mean_prior=np.array([1.0, -1.0, 0.5]),
        degrees_of_freedom_prior=4.5,
        covariance_prior=np.diag([2.0, 1.0, 0.5]),
    )
    ours = BayesianGaussianMixture(**params).fit(X)
    theirs = SkBayesian(**params).fit(X)
    assert_bayesian_close(ours, theirs, 1e-8)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_warm_start_and_given_diagonal_priors_equal_sklearn(X, covariance_type):
    prior = np.array([2.0, 1.0, 0.5]) if covariance_type == "diag" else 1.5
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        random_state=1,
        max_iter=3,
        warm_start=True,
        covariance_prior=prior,
        weight_concentration_prior_type="dirichlet_distribution",
    )
    ours, theirs = BayesianGaussianMixture(**params), SkBayesian(**params)
    for _ in range(4):  # each fit continues the last
        ours.fit(X)
        theirs.fit(X)
        assert_bayesian_close(ours, theirs, 1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_equals_the_reference_updates(X, covariance_type, prior_type, weighted):
    """From scikit-learn's 'random' start (the same draws), five iterations
    against Bishop's updates written with explicit responsibilities."""
    X = X[:300]
    w = np.random.default_rng(3).uniform(0.0, 3.0, len(X)) if weighted else None
    n_components, n_iter, seed = 3, 5, 7
    resp = np.random.RandomState(seed).uniform(size=(len(X), n_components))
    resp /= resp.sum(axis=1)[:, None]
    bounds, post = reference.variational_run(X, w, resp, covariance_type, prior_type, n_iter)
    ours = BayesianGaussianMixture(
        n_components=n_components,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        init_params="random",
        random_state=seed,
        max_iter=n_iter,
        tol=0,
    ).fit(X, sample_weight=w)
    assert_allclose(ours.lower_bounds_, bounds, rtol=1e-9)
    for name, value in post.items():
        _close(np.ravel(getattr(ours, name)), np.ravel(value), 1e-9, name)
    priors = reference.variational_priors(X, w, covariance_type, n_components)
    _close(ours.mean_prior_, priors["mean"], 1e-12, "mean_prior_")
    _close(ours.covariance_prior_, priors["covariance"], 1e-12, "covariance_prior_")


def test_default_priors_keep_their_digits_with_an_outlying_first_row():
    """The data's mean and covariance (scikit-learn's default priors) from
    float32 rows whose first row lies 300 standard deviations out: as
    NumPy's two-pass float64 np.cov of the same numbers, to 1e-6."""
    X = np.random.default_rng(0).normal(size=(1_000_000, 3)).astype(np.float32)
    X[0] = 300.0
    model = BayesianGaussianMixture(n_components=2)
    model._check_parameters(X)
    X64 = X.astype(np.float64)
    _close(model.mean_prior_, X64.mean(axis=0), 1e-6, "mean_prior_")
    _close(model.covariance_prior_, np.cov(X64.T), 1e-6, "covariance_prior_")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_kept_and_accurate(covariance_type):
    """float32 rows are read as float32; the fit agrees with scikit-learn's
    float64 fit of the same rows to 1e-4 (well-conditioned data, where
    float32 is accurate), and its attributes are float64 as scikit-learn's."""
    X, _ = make_mixture(2000, 3, 3, seed=1)
    X32 = X.astype(np.float32)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0, max_iter=20)
    params["tol"] = 0
    ours = BayesianGaussianMixture(**params).fit(X32)
    theirs = SkBayesian(**params).fit(X32.astype(np.float64))
    for name in POSTERIOR:
        assert np.asarray(getattr(ours, name)).dtype == np.float64
        _close(getattr(ours, name), getattr(theirs, name), 1e-4, name)
    assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=1e-4)
    assert ours.predict_proba(X32).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_threads_give_the_same_bits(covariance_type, dtype):
    # 5 blocks of the default grid (the small test grid's 8-row tiles let
    # LLVM's run-time overlap checks pick scalar or vector loops by where
    # malloc put the tile buffers: not a grid that users can choose)
    X = make_mixture(5000, 3, 3, seed=2, dtype=dtype)[0]
    params = dict(n_components=4, covariance_type=covariance_type, random_state=0, max_iter=8)
    one = BayesianGaussianMixture(n_threads=1, **params).fit(X)
    two = BayesianGaussianMixture(n_threads=2, **params).fit(X)
    for name in POSTERIOR:
        assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
    assert one.lower_bounds_ == two.lower_bounds_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_are_repeated_rows(X, covariance_type):
    """From the same state (a warm start), weights w give the fit on rows
    repeated w times, the priors taken from the data included; a zero weight
    drops the row."""
    w = np.random.default_rng(0).integers(0, 4, len(X))
    repeated = np.repeat(X, w, axis=0)
    start = BayesianGaussianMixture(
        n_components=3, covariance_type=covariance_type, random_state=0, max_iter=1,
        warm_start=True,
    ).fit(X, sample_weight=w.astype(float))  # fmt: skip
    weighted, rows = copy.deepcopy(start), copy.deepcopy(start)
    weighted.set_params(max_iter=15).fit(X, sample_weight=w.astype(float))
    rows.set_params(max_iter=15).fit(repeated)
    for name in POSTERIOR + PRIORS:
        _close(getattr(weighted, name), getattr(rows, name), 1e-10, name)
    assert_allclose(weighted.lower_bounds_, rows.lower_bounds_, rtol=1e-10)


def test_memory_map_and_chunks_equal_in_memory(tmp_path, X):
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    params = dict(n_components=3, random_state=0, max_iter=10, covariance_type="diag")
    ref = BayesianGaussianMixture(**params).fit(X)
    same = BayesianGaussianMixture(**params).fit(mapped)
    for name in POSTERIOR:
        assert_array_equal(getattr(same, name), getattr(ref, name), err_msg=name)
    chunked = BayesianGaussianMixture(chunk_size=100, **params).fit(mapped)
    for name in POSTERIOR:
        _close(getattr(chunked, name), getattr(ref, name), 1e-10, name)
    assert_array_equal(same.predict(mapped), ref.predict(X))


def test_fit_allocates_no_rows_by_components_array():
    n_samples, n_components = 100_000, 32
    X = np.random.default_rng(0).normal(size=(n_samples, 4))
    params = dict(
        n_components=n_components, covariance_type="diag", init_params="random_from_data",
        max_iter=2, tol=0, random_state=0,
    )  # fmt: skip
    BayesianGaussianMixture(**params).fit(X[:2000])  # compile outside the trace
    tracemalloc.start()
    try:
        BayesianGaussianMixture(**params).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n_samples * n_components * 8, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_save_load_round_trip(tmp_path, X, covariance_type, prior_type):
    model = BayesianGaussianMixture(
        n_components=3, covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type, random_state=0,
        mean_prior=np.zeros(3),
    ).fit(X)  # fmt: skip
    model.save(tmp_path / "m.npz")
    back = fastgmm.load(tmp_path / "m.npz")
    assert type(back) is BayesianGaussianMixture
    assert back.get_params().keys() == model.get_params().keys()
    assert_array_equal(back.get_params()["mean_prior"], model.mean_prior)
    for name in POSTERIOR + PRIORS:
        assert_array_equal(getattr(back, name), getattr(model, name), err_msg=name)
    assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert back.lower_bounds_ == model.lower_bounds_


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: {"mean_precision_": -m.mean_precision_}, "must be positive"),
        (lambda m: {"degrees_of_freedom_": m.degrees_of_freedom_ * 0}, "degrees of freedom"),
        (lambda m: {"weights_": m.weights_[::-1].copy()}, "disagree with weight_concentration_"),
        (lambda m: {"weight_concentration_": np.ones(3)}, "weight_concentration_ has shape"),
        (lambda m: {"covariance_prior_": -np.eye(3)}, "covariance_prior_"),
        (lambda m: {"mean_prior_": np.array([np.nan, 0.0, 0.0])}, "NaN"),
    ],
)
def test_a_bad_file_is_a_clear_error(tmp_path, X, change, message):
    model = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=5).fit(X)
    path = tmp_path / "m.npz"
    model.save(path)
    _rewrite(path, **change(model))
    with pytest.raises(ValueError, match=message):
        fastgmm.load(path)


def _message(call):
    try:
        call()
    except (ValueError, TypeError) as exc:
        return type(exc), str(exc)
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "params",
    [
        dict(degrees_of_freedom_prior=1.5),
        dict(mean_prior=np.zeros(2)),
        dict(covariance_prior=np.eye(2)),
        dict(covariance_prior=np.array([[1.0, 2.0], [2.0, 1.0], [0.0, 0.0]])),
        dict(covariance_prior=-np.eye(3)),
        dict(covariance_type="diag", covariance_prior=np.array([1.0, -1.0, 1.0])),
        dict(covariance_type="diag", covariance_prior=np.ones(2)),
        dict(weight_concentration_prior_type="stick"),
        dict(weight_concentration_prior=0.0),
        dict(mean_precision_prior=-1.0),
        dict(n_components=0),
        dict(n_components=1000),
    ],
)
def test_bad_parameters_raise_sklearns_errors(X, params):
    ours = _message(lambda: BayesianGaussianMixture(**params).fit(X))
    theirs = _message(lambda: SkBayesian(**params).fit(X))
    assert ours[0] is theirs[0]
    assert ours[1] == theirs[1].replace("sklearn.mixture._bayesian_mixture", "fastgmm")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_bad_rows_raise_sklearns_errors(X, bad):
    Y = X.copy()
    Y[5, 1] = bad
    ours = _message(lambda: BayesianGaussianMixture(n_components=2).fit(Y))
    theirs = _message(lambda: SkBayesian(n_components=2).fit(Y))
    assert ours == theirs


def test_verbose_output_is_sklearns(X):
    params = dict(n_components=3, random_state=0, verbose=1, verbose_interval=2, n_init=2)
    BayesianGaussianMixture(**params).fit(X)  # kernels compiled: no compile line below
    outputs = []
    for cls in (BayesianGaussianMixture, SkBayesian):
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            cls(**params).fit(X)
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]
    assert "Initialization 1" in outputs[0]


def test_unused_components_fall_to_small_weights():
    """The point of the variational mixture: K is an upper bound."""
    X, _ = make_mixture(3000, 2, 3, seed=5, separation=8.0)
    model = BayesianGaussianMixture(
        n_components=10, random_state=0, weight_concentration_prior=1e-3, max_iter=500
    ).fit(X)
    assert np.sum(model.weights_ > 0.05) == 3
    assert np.sum(model.weights_ > 0.01) <= 4


def test_patch_sklearn_routes_both_estimators(X):
    import sklearn.mixture

    with fastgmm.sklearn_patched():
        assert sklearn.mixture.BayesianGaussianMixture is BayesianGaussianMixture
        assert sklearn.mixture.GaussianMixture is fastgmm.GaussianMixture
        from sklearn.mixture import BayesianGaussianMixture as Imported

        assert Imported is BayesianGaussianMixture
    assert sklearn.mixture.BayesianGaussianMixture is SkBayesian
