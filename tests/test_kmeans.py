"""fastgmm's own k-means (initialisations of more than 2^17 rows) against
slow references, scikit-learn, and itself on other thread counts."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from fastgmm import GaussianMixture, _kernels, _kmeans
from fastgmm._config import INIT_SAMPLE_ROWS
from fastgmm._initialization import _nearest_statistics
from fastgmm._mstep import estimate_parameters
from fastgmm._sources import ArraySource

import reference as ref
from _helpers import COVARIANCE_TYPES, make_mixture

LARGE = INIT_SAMPLE_ROWS + 3001  # beyond the sample: a ragged last block


@pytest.fixture(scope="module")
def large():
    X, _ = make_mixture(LARGE, 3, 4, seed=21, separation=6.0)
    return X


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_runs", [1, 3])
def test_seeding_matches_the_reference(weighted, n_runs):
    X, _ = make_mixture(5000, 4, 5, seed=3)
    w = np.random.default_rng(4).uniform(0.1, 3.0, len(X)) if weighted else None
    sample = _kmeans._Rows(X, w)
    ours = _kmeans._seed(sample, 6, np.random.RandomState(7), n_runs)
    theirs = ref.kmeans_plusplus_seeds(X, w, 6, np.random.RandomState(7), n_runs)
    assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_lloyd_matches_the_reference(dtype, weighted):
    X, _ = make_mixture(6000, 3, 4, seed=5, separation=2.0, offset=50.0, dtype=dtype)
    w = np.random.default_rng(6).uniform(0.0, 2.0, len(X)) if weighted else None
    start = np.asarray(X[[0, 1, 2, 3, 4]], dtype=np.float64)  # 5 centres for 4 clusters
    sample = _kmeans._Rows(X, w)
    tol = 1e-6
    ours, _ = _kmeans._lloyd(sample, start, tol)
    theirs, labels = ref.lloyd(X, w, start, tol)
    assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    assert len(np.unique(labels)) == 5


def test_an_empty_centre_moves_to_the_farthest_rows():
    # 2 distinct rows, 3 centres: the spare centre keeps moving, and the
    # iterations end (at most max_iter) with both rows covered
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 1.0]]), [3000, 2000], axis=0)
    centres, origin = _kmeans.kmeans(X, None, 3, np.random.RandomState(0))
    assert np.isfinite(centres).all()
    assert_allclose(origin, X.mean(axis=0))
    for row in ([0.0, 0.0], [5.0, 1.0]):
        assert np.min(((centres - row) ** 2).sum(axis=1)) < 1e-20
    start = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 1.0]])
    ours, _ = _kmeans._lloyd(_kmeans._Rows(X, None), start, 0.0)
    theirs, _ = ref.lloyd(X, None, start, 0.0)
    assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_nearest_statistics_give_the_partitions_parameters(covariance_type, dtype, weighted):
    """One pass of hard statistics about the centres, then the M-step: the
    textbook two-pass estimates of the nearest-centre partition.  Far from
    the origin (offset 1e3) and over several waves and a ragged block."""
    from scipy.spatial.distance import cdist

    X, _ = make_mixture(70_000, 5, 3, seed=8, offset=1e3, dtype=dtype)
    w = np.random.default_rng(9).uniform(0.0, 2.0, len(X)) if weighted else None
    centres = np.asarray(X[[10, 20, 30, 40, 50]], dtype=np.float64) + 0.25  # odd: a pad row
    origin = np.asarray(X[:1000], dtype=np.float64).mean(axis=0)
    stats = _nearest_statistics(ArraySource(X, w), centres, origin, covariance_type)
    weights, means, covariances = estimate_parameters(stats, 1e-6, 1e-15, normalize_weights=False)
    labels = cdist(np.asarray(X, dtype=np.float64), centres, "sqeuclidean").argmin(axis=1)
    resp = np.eye(len(centres))[labels]
    nk, ref_means, ref_covariances = ref.gaussian_estimates(
        X, resp, w, 1e-6, covariance_type, 1e-15
    )
    if covariance_type == "tied":  # tied statistics share one shift (see rebased)
        assert_array_equal(stats.shifts, np.broadcast_to(stats.shifts[0], stats.shifts.shape))
    assert_allclose(stats.nk, nk, rtol=1e-12)
    assert_allclose(means, ref_means, rtol=1e-12)
    assert_allclose(covariances, ref_covariances, rtol=1e-9)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_large_start_is_the_same_for_any_thread_count(large, init_params, dtype):
    X = large.astype(dtype)
    fits = [
        GaussianMixture(4, init_params=init_params, max_iter=0, random_state=3, n_threads=n).fit(X)
        for n in (1, 2)
    ]
    for name in ("weights_", "means_", "covariances_"):
        assert_array_equal(getattr(fits[0], name), getattr(fits[1], name), err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_large_fit_reaches_scikit_learns_optimum(large, covariance_type):
    """Clear data beyond the sample: fastgmm's k-means start and
    scikit-learn's (its KMeans on all rows) lead to the same fit."""
    ours = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(large)
    theirs = SkGaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(large)
    order = np.argsort(ours.means_[:, 0])
    their_order = np.argsort(theirs.means_[:, 0])
    assert_allclose(ours.means_[order], theirs.means_[their_order], rtol=1e-5, atol=1e-5)
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-7)


def test_nan_in_the_sampled_rows_of_a_memory_map(tmp_path, large):
    X = large.copy()
    X[::1000, 1] = np.nan  # in every sample
    np.save(tmp_path / "X.npy", X)
    mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(4, random_state=0).fit(mm)


def test_kernel_faces_check_shapes():
    X = _kernels.read_only(np.zeros((3000, 3)))
    with pytest.raises(ValueError, match="float64"):  # one compilation: float64 only
        _kernels.nearest(
            X.astype(np.float32), None, np.zeros(3), np.zeros((2, 3)),
            (np.empty((3, 2)), np.empty((3, 2, 3)), np.empty((3, 2, 0))),
        )  # fmt: skip
    centres = np.zeros((2, 3))

    def partials(n_blocks, width=0):
        return (np.empty((n_blocks, 2)), np.empty((n_blocks, 2, 3)), np.empty((n_blocks, 2, width)))

    _kernels.nearest(X, None, np.zeros(3), centres, partials(3))
    for bad in (
        dict(partials=partials(2)),  # 3 blocks of rows
        dict(partials=partials(3, width=4)),  # neither 0, d nor d (d + 1) / 2
        dict(weights=np.ones(10)),
        dict(centres=np.zeros((2, 4))),
        dict(origin=np.zeros(2)),
    ):
        args = dict(weights=None, origin=np.zeros(3), centres=centres, partials=partials(3))
        args.update(bad)
        with pytest.raises(ValueError, match="nearest"):
            _kernels.nearest(X, args["weights"], args["origin"], args["centres"], args["partials"])
    sample = _kmeans._Rows(np.zeros((3000, 3)), None)
    yb, y, sq = sample.transposed()
    steps = (np.empty((3, 2)), np.empty((3, 2, 3)), np.empty(3), np.empty(3, dtype=np.int64))
    labels, dists = np.full(3000, -1), np.empty(3000)
    _kernels.lloyd_step(yb, y, sq, None, centres, labels, dists, steps)
    with pytest.raises(ValueError, match="lloyd_step"):  # labels of 2000 rows
        _kernels.lloyd_step(yb, y, sq, None, centres, labels[:2000], dists[:2000], steps)
    with pytest.raises(ValueError, match="lloyd_step"):  # partials of 2 blocks
        _kernels.lloyd_step(yb, y, sq, None, centres, labels, dists, [a[:2] for a in steps])
    closest = np.full((1, 3000), np.inf)
    with pytest.raises(ValueError, match="candidate_distances"):  # run 1 of 1
        _kernels.candidate_distances(
            yb, sq, None, np.zeros((1, 3)), [1], closest, np.empty((0, 3000)), np.empty((3, 1))
        )
    with pytest.raises(ValueError, match="candidate_distances"):  # 3 blocks, 2000 rows
        _kernels.candidate_distances(
            yb, sq, None, np.zeros((1, 3)), [0], closest[:, :2000], np.empty((0, 2000)),
            np.empty((3, 1)),
        )  # fmt: skip
    with pytest.raises(ValueError, match="candidate_distances"):  # distances of 2 rows
        _kernels.candidate_distances(
            yb, sq, None, np.zeros((1, 3)), [0], closest, np.empty((2, 3000)), np.empty((3, 1))
        )


# ------------------------------------------- up to 2^17 rows: scikit-learn's


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_samples", [7, 300, 5000])
def test_scikit_learns_kmeans_steps_give_kmeans_fit(dtype, weighted, n_samples):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    from fastgmm._initialization import _KMEANS_STEPS, scikit_learn_kmeans

    assert _KMEANS_STEPS is not None  # the versions this package is tested with
    X, _ = make_mixture(n_samples, 3, 4, seed=n_samples, offset=20.0, dtype=dtype)
    w = np.random.default_rng(1).uniform(0.0, 2.0, n_samples) if weighted else None
    for seed in range(5):
        # scikit-learn's Lloyd adds its threads' sums in the order they end:
        # on more than two cores two KMeans.fit calls can differ in the last
        # bit, so both run on one OpenMP thread here
        with threadpool_limits(limits=1, user_api="openmp"):
            kmeans = KMeans(n_clusters=3, n_init=1, random_state=seed).fit(X, sample_weight=w)
            centres, labels = scikit_learn_kmeans(X, w, 3, np.random.RandomState(seed))
        assert centres.dtype == kmeans.cluster_centers_.dtype
        assert_array_equal(centres, kmeans.cluster_centers_)
        assert_array_equal(labels, kmeans.labels_)


def test_scikit_learns_kmeans_steps_warn_as_kmeans_fit(monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    from fastgmm import _initialization

    X = np.repeat(np.array([[0.0, 1.0], [3.0, 2.0]]), [6, 4], axis=0)
    fits = []
    for steps in (_initialization._KMEANS_STEPS, None):  # direct, then KMeans itself
        monkeypatch.setattr(_initialization, "_KMEANS_STEPS", steps)
        with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(2\).*n_clusters \(3\)"):
            fits.append(_initialization.scikit_learn_kmeans(X, None, 3, np.random.RandomState(0)))
    assert_array_equal(fits[0][0], fits[1][0])
    assert_array_equal(fits[0][1], fits[1][1])
