"""Dask arrays on a real distributed.LocalCluster with two worker processes."""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture
from fastgmm.datasets import make_gaussian_mixture

from _helpers import COVARIANCE_TYPES, assert_fits_close, quiet_fit, random_start

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    X, _, _ = make_gaussian_mixture(60_000, 3, 4, random_state=11)
    w = np.random.default_rng(1).integers(0, 4, len(X)).astype(float)
    return X, w


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_dask_fit_equals_in_memory_fit(client, data, covariance_type, weighted):
    X, w = data
    Xd = da.from_array(X, chunks=(9_000, 3))
    wd = da.from_array(w, chunks=9_000) if weighted else None
    params = dict(n_components=4, covariance_type=covariance_type, random_state=0)
    ours = quiet_fit(Xd, wd, **params)
    ref = quiet_fit(X, w if weighted else None, **params)
    assert_fits_close(ours, ref)

    labels = ours.predict(Xd)
    assert isinstance(labels, da.Array)  # lazy, block-wise
    assert_array_equal(labels.compute(), ref.predict(X))
    assert_allclose(ours.score_samples(Xd).compute(), ref.score_samples(X), rtol=1e-12)
    proba = ours.predict_proba(Xd)
    assert proba.shape == (len(X), 4)
    assert_allclose(proba.compute(), ref.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert ours.score(Xd, sample_weight=wd) == pytest.approx(
        ref.score(X, sample_weight=w if weighted else None), rel=1e-12
    )


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_dask_inits_equal_in_memory(client, data, init_params):
    X, _ = data
    params = dict(n_components=4, init_params=init_params, random_state=3, max_iter=20)
    assert_fits_close(
        quiet_fit(da.from_array(X, chunks=(10_000, 3)), **params), quiet_fit(X, **params)
    )


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_dask_large_kmeans_start_equals_in_memory(client, init_params):
    """Beyond 2^17 rows: the same sample, fastgmm's k-means on it, and the
    nearest-centre statistics block by block on the workers."""
    from fastgmm._config import INIT_SAMPLE_ROWS

    X, _, _ = make_gaussian_mixture(INIT_SAMPLE_ROWS + 5_000, 3, 4, random_state=12)
    for covariance_type in ("full", "tied", "spherical"):
        params = dict(
            n_components=4, covariance_type=covariance_type, init_params=init_params,
            random_state=5, max_iter=3, tol=0,
        )  # fmt: skip
        ours = quiet_fit(da.from_array(X, chunks=(30_000, 3)), **params)
        assert_fits_close(ours, quiet_fit(X, **params))


def test_dask_given_start_and_float32(client, data):
    X, _ = data
    X32 = X.astype(np.float32)
    start = random_start(X, 4, "full", seed=2)
    a = quiet_fit(
        da.from_array(X32, chunks=(8_000, 3)), n_components=4, max_iter=10, tol=0, **start
    )
    b = quiet_fit(X32, n_components=4, max_iter=10, tol=0, **start)
    assert a.means_.dtype == np.float32
    assert_fits_close(a, b, rtol=1e-6)


def test_dask_worker_killed_during_fit_is_survived(client, data):
    X, _ = data
    start = random_start(X, 4, "full", seed=4)
    params = dict(n_components=4, max_iter=40, tol=0, **start)
    expected = quiet_fit(X, **params)
    Xd = da.from_array(X, chunks=(5_000, 3))
    result = {}

    def run():
        result["model"] = quiet_fit(Xd, **params)

    pids = client.run(os.getpid)
    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(1.5)
    assert worker.is_alive(), "the fit finished before a worker could be killed"
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    worker.join(timeout=300)
    assert not worker.is_alive()
    assert_fits_close(result["model"], expected)
    # the nanny brought a fresh worker up
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())


def test_dask_bad_input(client):
    X = np.random.default_rng(0).normal(size=(100, 2))
    X[50, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(da.from_array(X, chunks=(30, 2)))
    good = da.from_array(np.abs(X[:40]) + 1, chunks=(10, 2))
    with pytest.raises(ValueError, match="Negative values"):
        GaussianMixture(2).fit(good, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="expected"):
        GaussianMixture(2).fit(good, sample_weight=np.ones(39))


def test_dask_weighted_random_from_data_picks_weighted_rows(client, data):
    X, _ = data
    w = np.zeros(len(X))
    w[::50] = 1.0  # only every 50th row may be picked
    gm = quiet_fit(
        da.from_array(X, chunks=(9_000, 3)),
        da.from_array(w, chunks=9_000),
        n_components=4,
        init_params="random_from_data",
        random_state=0,
        max_iter=1,
    )
    from fastgmm._sources._dask import DaskSource

    source = DaskSource(da.from_array(X, chunks=(9_000, 3)), da.from_array(w, chunks=9_000))
    picked = source.weighted_choice(np.random.RandomState(0), 4)
    assert len(set(picked)) == 4 and np.all(picked % 50 == 0)
    assert np.isfinite(gm.lower_bound_)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_dask_bayesian_fit_equals_in_memory(client, data, covariance_type):
    from fastgmm import BayesianGaussianMixture

    X, w = data
    Xd, wd = da.from_array(X, chunks=(9_000, 3)), da.from_array(w, chunks=9_000)
    params = dict(n_components=5, covariance_type=covariance_type, random_state=0, max_iter=12)
    ours = BayesianGaussianMixture(**params).fit(Xd, sample_weight=wd)
    ref = BayesianGaussianMixture(**params).fit(X, sample_weight=w)
    for name in ("weights_", "means_", "covariances_", "mean_precision_", "covariance_prior_"):
        a, b = np.asarray(getattr(ours, name)), np.asarray(getattr(ref, name))
        assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(), err_msg=name)
    assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-10)
    assert ours.n_iter_ == ref.n_iter_
    assert_array_equal(ours.predict(Xd).compute(), ref.predict(X))
