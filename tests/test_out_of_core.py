"""Memory maps and array-likes read in chunks, and partial_fit (stepwise EM)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture
from fastgmm.datasets import make_gaussian_mixture

from _helpers import COVARIANCE_TYPES, FITTED_PARAMETERS, make_mixture, quiet_fit, random_start


class RowBlocks:
    """A minimal h5py/zarr-like dataset: shape, dtype and row slicing only."""

    def __init__(self, array):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return np.array(self._array[key])  # a copy, as a dataset read is


@pytest.fixture(scope="module")
def mixture_file(tmp_path_factory):
    X, _, _ = make_gaussian_mixture(150_001, 4, 5, dtype=np.float32, random_state=3)
    path = tmp_path_factory.mktemp("mm") / "X.npy"
    np.save(path, X)
    return path, X


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_memmap_fit_equals_in_memory_fit(mixture_file, covariance_type, init_params):
    path, X = mixture_file
    mm = np.load(path, mmap_mode="r")
    params = dict(
        n_components=5,
        covariance_type=covariance_type,
        max_iter=8,
        init_params=init_params,
        random_state=0,
    )
    a = quiet_fit(mm, **params)
    b = quiet_fit(X, **params)
    for name in FITTED_PARAMETERS:  # the same chunk grid: bitwise the same
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_
    assert_array_equal(a.predict(mm), b.predict(X))
    assert_array_equal(a.score_samples(mm), b.score_samples(X))


@pytest.mark.parametrize("chunk_size", [1000, 4099, 65_536])
def test_chunk_size_changes_only_rounding(mixture_file, chunk_size):
    path, X = mixture_file
    mm = np.load(path, mmap_mode="r")
    start = random_start(X, 5, "full", seed=1)
    a = quiet_fit(mm, n_components=5, max_iter=5, tol=0, chunk_size=chunk_size, **start)
    b = quiet_fit(X, n_components=5, max_iter=5, tol=0, **start)
    # Other chunks cut other tiles, whose float32 partial sums round
    # differently: float32 input agrees to a few float32 ulps.
    for name in FITTED_PARAMETERS:
        assert_allclose(
            getattr(a, name),
            getattr(b, name),
            rtol=2e-6,
            atol=2e-6 * np.abs(getattr(b, name)).max(),
        )
    assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=2e-6)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_memmap_chunked_thread_count_bitwise(mixture_file):
    path, _ = mixture_file
    mm = np.load(path, mmap_mode="r")
    one = quiet_fit(mm, n_components=5, max_iter=4, random_state=1, n_threads=1, chunk_size=20_000)
    two = quiet_fit(mm, n_components=5, max_iter=4, random_state=1, n_threads=2, chunk_size=20_000)
    for name in FITTED_PARAMETERS:
        assert_array_equal(getattr(one, name), getattr(two, name))


def test_array_like_in_row_blocks():
    X, _ = make_mixture(20_000, 3, 3, seed=2)
    blocks = RowBlocks(X)
    a = quiet_fit(blocks, n_components=3, random_state=0, chunk_size=3000)
    b = quiet_fit(X, n_components=3, random_state=0, chunk_size=3000)
    for name in FITTED_PARAMETERS:
        assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12)
    assert blocks.reads > 6  # read in pieces
    assert_array_equal(a.predict(blocks), b.predict(X))
    # integer data is converted chunk by chunk
    ints = RowBlocks(np.round(X * 100).astype(np.int32))
    c = quiet_fit(ints, n_components=3, random_state=0)
    assert c.means_.dtype == np.float64


def test_bad_values_in_a_chunk_are_reported(tmp_path):
    X, _ = make_mixture(5000, 2, 2)
    X[4321, 1] = np.nan
    np.save(tmp_path / "bad.npy", X)
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2, chunk_size=1000).fit(np.load(tmp_path / "bad.npy", mmap_mode="r"))
    X[4321, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2).fit(RowBlocks(X))
    gm = GaussianMixture(2, random_state=0).fit(X[:100] * 0 + np.arange(100)[:, None])
    with pytest.raises(ValueError, match="X has 3 features"):
        gm.predict(RowBlocks(np.zeros((10, 3))))


def test_memmap_peak_memory_in_subprocess(tmp_path):
    """A 6M x 16 float32 memmap (384 MB): anonymous memory stays small."""
    script = textwrap.dedent(f"""
        import json, threading, time, warnings
        import numpy as np
        warnings.simplefilter("ignore")
        path = {str(tmp_path / "big.npy")!r}
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(6_000_000, 16))
        rng = np.random.default_rng(0)
        for s in range(0, mm.shape[0], 500_000):
            block = rng.standard_normal((500_000, 16), dtype=np.float32)
            mm[s:s + 500_000] = block + (s // 500_000) % 3
        mm.flush(); del mm
        from fastgmm import GaussianMixture
        GaussianMixture(4, max_iter=2).fit(np.load(path, mmap_mode="r")[:20000])  # compile

        def anon():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) * 1024
        X = np.load(path, mmap_mode="r")
        base, peak, done = anon(), [0], []
        def poll():
            while not done:
                peak[0] = max(peak[0], anon()); time.sleep(0.005)
        t = threading.Thread(target=poll); t.start()
        gm = GaussianMixture(4, max_iter=3, tol=0, random_state=0).fit(X)
        done.append(1); t.join()
        print(json.dumps({{"extra": peak[0] - base, "ll": gm.lower_bound_}}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=600
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["extra"] < 150 * 2**20, f"{result['extra'] / 2**20:.0f} MiB"
    assert np.isfinite(result["ll"])


# ---------------------------------------------------------------- partial_fit


def test_partial_fit_stream_reaches_full_fit():
    """1,000 batches from a known mixture: within 1% of fit on all the data."""
    X, _, _ = make_gaussian_mixture(200_000, 3, 4, random_state=7)
    full = quiet_fit(X, n_components=4, random_state=0)
    online = GaussianMixture(4, random_state=0)
    for batch in np.array_split(X, 1000):
        online.partial_fit(batch)
    gap = abs(online.score(X) - full.score(X)) / abs(full.score(X))
    assert gap < 0.01, gap
    assert online.n_iter_ == 1000
    assert len(online.lower_bounds_) == 1000


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_first_step_is_an_em_step(covariance_type):
    X, _ = make_mixture(3000, 3, 3, seed=4)
    start = random_start(X, 3, covariance_type, seed=5)
    online = GaussianMixture(3, covariance_type=covariance_type, **start).partial_fit(X)
    batch = quiet_fit(X, n_components=3, covariance_type=covariance_type, max_iter=1, **start)
    for name in FITTED_PARAMETERS:
        assert_allclose(getattr(online, name), getattr(batch, name), rtol=1e-10)


def test_partial_fit_blend_matches_explicit_formula():
    """rho-blended statistics, rebased: compare with the definition, by hand."""
    from fastgmm import functional as F

    X, _ = make_mixture(4000, 2, 2, seed=6)
    a, b = X[:2000], X[2000:]
    gm = GaussianMixture(2, random_state=0, learning_offset=0.0, learning_decay=1.0)
    gm.partial_fit(a)
    p1 = dict(weights=gm.weights_, means=gm.means_, precisions_cholesky=gm.precisions_cholesky_)
    s1 = gm._stream.stats
    gm.partial_fit(b)
    rho = 2.0**-1.0
    s2 = F.sufficient_statistics(b, **p1).scaled(1 / len(b))
    blend = s1.rebased(s2.shifts).scaled(1 - rho) + s2.scaled(rho)
    weights, means, covariances, _ = F.m_step(blend)
    assert_allclose(gm.means_, means, rtol=1e-12)
    assert_allclose(gm.covariances_, covariances, rtol=1e-10)
    # and the rebased statistics give the same parameters as before rebasing
    assert_allclose(F.m_step(s1.rebased(s2.shifts))[2], F.m_step(s1)[2], rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_rebased_statistics_are_the_same_statistics(covariance_type):
    from fastgmm import functional as F

    X, _ = make_mixture(2000, 3, 3, seed=8)
    gm = quiet_fit(X, n_components=3, covariance_type=covariance_type, random_state=0, max_iter=2)
    stats = F.sufficient_statistics(
        X, gm.weights_, gm.means_, gm.precisions_cholesky_, covariance_type
    )
    moved = stats.rebased(
        stats.shifts + np.random.default_rng(0).normal(size=stats.shifts.shape)
        if covariance_type != "tied"
        else stats.shifts + 0.5
    )
    for a, b in zip(F.m_step(stats), F.m_step(moved)):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_partial_fit_errors():
    X, _ = make_mixture(100, 2, 2)
    with pytest.raises(ValueError, match="learning_decay"):
        GaussianMixture(2, learning_decay=0.5).partial_fit(X)
    gm = GaussianMixture(2, random_state=0).partial_fit(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        gm.partial_fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).partial_fit(X[:3])


def test_partial_fit_after_fit_starts_from_the_fit():
    X, _ = make_mixture(2000, 2, 3, seed=9)
    gm = quiet_fit(X, n_components=3, random_state=0)
    means = gm.means_.copy()
    gm.partial_fit(X[:500])
    assert np.abs(gm.means_ - means).max() < 0.5


def test_copy_on_write_memmap_edits_are_kept(tmp_path):
    """No lost data: a 'c' map's in-memory edits survive a chunked fit."""
    X, _ = make_mixture(30_000, 2, 2, seed=12)
    np.save(tmp_path / "X.npy", X)
    mm = np.load(tmp_path / "X.npy", mmap_mode="c")
    mm[:10_000] += 100.0  # edits live only in this process's private pages
    expected = np.array(mm)
    gm = GaussianMixture(2, random_state=0, chunk_size=1000).fit(mm)
    assert_array_equal(np.asarray(mm), expected)
    ref = GaussianMixture(2, random_state=0, chunk_size=1000).fit(expected)
    assert_allclose(gm.means_, ref.means_, rtol=1e-12)


def test_distinct_rows_are_the_draws_deduplicated():
    """distinct_rows keeps the rows of repeated draws until ``size`` are
    distinct (the first draw's, then each round's new ones), sorted; more than
    half the rows are the complement of such a draw (no endless rounds)."""
    from fastgmm._sources import distinct_rows

    def slow(random_state, n, size):
        chosen = set()
        while len(chosen) < size:
            chosen.update(random_state.randint(0, n, size=size - len(chosen)).tolist())
        return np.array(sorted(chosen))

    for n, size in [(1_000_000, 5_000), (10_000, 4_999), (37, 1)]:
        np.testing.assert_array_equal(
            distinct_rows(np.random.RandomState(4), n, size),
            slow(np.random.RandomState(4), n, size),
        )
    n = 2**17 + 1
    rows = distinct_rows(np.random.RandomState(0), n, n - 1)
    assert rows.size == n - 1 and np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < n
