"""on_degenerate: 'raise' is scikit-learn's error; 'reseed' and 'drop' give a
finite model whose lower bound is at least that of a fit with fewer
components from the same place, with every event recorded, for any thread
count."""

import io
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import fastgmm
from fastgmm import GaussianMixture

from _helpers import FITTED_PARAMETERS

ILL_DEFINED = "Fitting the mixture model failed because some components have ill-defined"
POLICIES = ["reseed", "drop"]


def duplicated_points(dtype=np.float64):
    """More components than distinct points, half the rows duplicates: 20
    distinct points, the first 10 repeated 11 times; K = 24."""
    rng = np.random.default_rng(0)
    points = rng.normal(scale=5.0, size=(20, 2))
    X = np.vstack([points, np.repeat(points[:10], 11, axis=0)]).astype(dtype)
    return X, dict(n_components=24, reg_covar=0.0, random_state=0)


def constant_feature(dtype=np.float64):
    """Three clusters and a constant third feature, reg_covar=0."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    X = np.vstack([rng.normal(size=(200, 2)) + c for c in centres])
    X = np.c_[X, np.full(600, 3.0)].astype(dtype)
    return X, dict(n_components=3, reg_covar=0.0, random_state=0)


def far_initial_mean(dtype=np.float64, n=1200):
    """A component emptied by its initialisation: means_init far from all data."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(n // 2, 2)), rng.normal(size=(n // 2, 2)) + 6]).astype(dtype)
    means = np.array([[0.0, 0.0], [6.0, 6.0], [100.0, -100.0]])
    return X, dict(n_components=3, reg_covar=0.0, means_init=means, random_state=0)


CASES = {"duplicated": duplicated_points, "constant": constant_feature, "far": far_initial_mean}


def fewer(params, model):
    """The same fit with the components that degenerated first left out,
    from the same place: the far mean left out, or fewer k-means clusters."""
    events = [e for e in model.degenerate_events_ if e.component >= 0]
    if events:
        first = min(e.iteration for e in events)
        k = params["n_components"] - len({e.component for e in events if e.iteration == first})
    else:  # the mixture regularised, every component kept: one fewer
        k = params["n_components"] - 1
    params = dict(params, n_components=k)
    if "means_init" in params:
        params["means_init"] = params["means_init"][:k]
    return params


def assert_finite_model(model, X):
    for name in FITTED_PARAMETERS:
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.isfinite(model.lower_bound_)
    assert np.all(np.isfinite(model.predict_proba(X)))
    assert np.all(np.isfinite(model.score_samples(X)))
    assert model.n_components_ == model.weights_.shape[0] == model.means_.shape[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_raise_is_sklearns_error(case, dtype):
    X, params = CASES[case](dtype)
    with pytest.raises(ValueError) as ours:
        GaussianMixture(**params).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as theirs:
            SkGaussianMixture(**params).fit(X)
    assert str(ours.value) == str(theirs.value)
    assert str(ours.value).startswith(ILL_DEFINED)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_policies_give_a_finite_model_no_worse_than_fewer_components(case, policy, dtype):
    X, params = CASES[case](dtype)
    model = GaussianMixture(on_degenerate=policy, **params).fit(X)
    assert_finite_model(model, X)
    assert model.degenerate_events_, "the case must degenerate"
    for event in model.degenerate_events_:
        assert event.reason in ("empty", "ill-defined")
        assert event.action.startswith(("reseeded at row", "dropped", "regularised"))
    if policy == "drop":
        dropped = sum(e.action == "dropped" for e in model.degenerate_events_)
        assert model.n_components_ == params["n_components"] - dropped
    assert model.n_components == params["n_components"]  # the parameter stays
    reference = GaussianMixture(on_degenerate=policy, **fewer(params, model)).fit(X)
    rtol = 1e-9 if dtype == np.float64 else 1e-6
    assert model.lower_bound_ >= reference.lower_bound_ - rtol * abs(reference.lower_bound_)


def drifting(t, rng, dtype=np.float64, copies=1):
    """scikit-learn issue #12099: warm-started refits on data that move; the
    third cluster shrinks to one point repeated 100 times from t = 15."""
    a = rng.normal(size=(300, 2))
    b = rng.normal(size=(300, 2)) + [10.0, 0.0]
    c = np.array([5.0, 10.0]) + max(0.0, 1 - t / 15) * rng.normal(size=(100, 2))
    return np.vstack([a, b, c] * copies).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("policy", ["raise", *POLICIES])
def test_warm_start_refits_on_moving_data(policy, dtype):
    rng = np.random.default_rng(3)
    model = GaussianMixture(
        3, warm_start=True, reg_covar=0.0, random_state=0, on_degenerate=policy
    )  # fmt: skip
    events = []
    for t in range(20):
        X = drifting(t, rng, dtype)
        if policy == "raise" and t == 15:
            with pytest.raises(ValueError, match=ILL_DEFINED):
                model.fit(X)
            if dtype == np.float64:  # scikit-learn fails at the same refit
                theirs = SkGaussianMixture(3, warm_start=True, reg_covar=0.0, random_state=0)
                replay = np.random.default_rng(3)
                for s in range(15):
                    theirs.fit(drifting(s, replay))
                with pytest.raises(ValueError, match=ILL_DEFINED):
                    theirs.fit(drifting(15, replay))
            return
        model.fit(X)
        events.extend(model.degenerate_events_)
    assert policy != "raise"
    assert events
    assert_finite_model(model, X)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_every_covariance_type_repairs_an_emptied_component(covariance_type):
    X, params = far_initial_mean()
    for policy in POLICIES:
        model = GaussianMixture(
            covariance_type=covariance_type, on_degenerate=policy, **params
        ).fit(X)  # fmt: skip
        assert_finite_model(model, X)
        assert model.degenerate_events_[0].component == 2


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_and_two_threads_give_the_same_events_and_fit(case, policy):
    X, params = CASES[case]()
    X = np.vstack([X] * (6000 // len(X) + 1))  # several blocks of rows
    one = GaussianMixture(on_degenerate=policy, n_threads=1, **params).fit(X)
    two = GaussianMixture(on_degenerate=policy, n_threads=2, **params).fit(X)
    assert one.degenerate_events_ == two.degenerate_events_
    for name in FITTED_PARAMETERS:
        assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
    assert one.lower_bounds_ == two.lower_bounds_


@pytest.mark.parametrize("policy", POLICIES)
def test_warm_start_refits_give_the_same_events_and_fit_for_one_and_two_threads(policy):
    fits = {}
    for n_threads in (1, 2):
        rng = np.random.default_rng(3)
        model = GaussianMixture(
            3, warm_start=True, reg_covar=0.0, random_state=0, on_degenerate=policy,
            n_threads=n_threads,
        )  # fmt: skip
        events = []
        for t in range(20):
            model.fit(drifting(t, rng, copies=8))  # 5,600 rows: several blocks
            events.extend(model.degenerate_events_)
        fits[n_threads] = model, events
    (one, one_events), (two, two_events) = fits[1], fits[2]
    assert one_events and one_events == two_events
    for name in FITTED_PARAMETERS:
        assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)


def test_an_iteration_with_an_event_never_converges():
    X, params = far_initial_mean()
    # with so large a tol every iteration would count as converged
    model = GaussianMixture(on_degenerate="reseed", tol=1e300, **params).fit(X)
    first = model.degenerate_events_[0].iteration
    assert first >= 1
    assert model.converged_ and model.n_iter_ == first + 1


def test_nothing_degenerate_is_the_raise_fit(X_clean=None):
    X, _ = far_initial_mean()
    params = dict(n_components=2, random_state=0, max_iter=30)
    raised = GaussianMixture(**params).fit(X)
    for policy in POLICIES:
        model = GaussianMixture(on_degenerate=policy, **params).fit(X)
        assert model.degenerate_events_ == []
        for name in FITTED_PARAMETERS:
            assert_array_equal(getattr(model, name), getattr(raised, name), err_msg=name)


def test_verbose_reports_events():
    X, params = far_initial_mean()
    out = io.StringIO()
    with redirect_stdout(out):
        GaussianMixture(on_degenerate="drop", verbose=1, **params).fit(X)
    assert "component 2 empty, dropped" in out.getvalue()


def test_save_load_keeps_the_remaining_components_and_events(tmp_path):
    X, params = far_initial_mean()
    model = GaussianMixture(on_degenerate="drop", **params).fit(X)
    model.save(tmp_path / "m.npz")
    back = fastgmm.load(tmp_path / "m.npz")
    assert back.n_components_ == model.n_components_ == 2
    assert back.degenerate_events_ == model.degenerate_events_
    assert_array_equal(back.predict_proba(X), model.predict_proba(X))


def test_bad_policy_is_sklearns_parameter_error():
    with pytest.raises(ValueError, match="'on_degenerate' parameter of GaussianMixture"):
        GaussianMixture(on_degenerate="ignore").fit(np.ones((5, 2)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bayesian_mixture_regularises_singular_data(dtype):
    """The variational mixture's one degenerate case: a constant feature and
    reg_covar=0 make the data's covariance prior, and every component's
    covariance, singular."""
    from sklearn.mixture import BayesianGaussianMixture as SkBayesian

    from fastgmm import BayesianGaussianMixture

    X, params = constant_feature(dtype)
    with pytest.raises(ValueError) as ours:
        BayesianGaussianMixture(**params).fit(X)
    with pytest.raises(ValueError) as theirs:
        SkBayesian(**params).fit(X)
    assert str(ours.value) == str(theirs.value)
    fits = {}
    for policy, n_threads in [("reseed", 1), ("reseed", 2), ("drop", 2)]:
        model = BayesianGaussianMixture(on_degenerate=policy, n_threads=n_threads, **params)
        fits[policy, n_threads] = model.fit(np.vstack([X] * 10))
        for name in FITTED_PARAMETERS:
            assert np.all(np.isfinite(getattr(model, name))), name
        assert [(e.iteration, e.component, e.reason) for e in model.degenerate_events_] == [
            (0, -1, "ill-defined")
        ]
        assert np.sum(model.weights_ > 0.1) == 3  # the three clusters are found
    one, two = fits["reseed", 1], fits["reseed", 2]
    assert one.degenerate_events_ == two.degenerate_events_ == fits["drop", 2].degenerate_events_
    for name in FITTED_PARAMETERS:
        assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)
