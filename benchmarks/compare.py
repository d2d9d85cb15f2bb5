"""fastgmm and scikit-learn side by side, in one run, on the same data and start.

    python -m benchmarks.compare            # every case (about 10 minutes on 2 cores)
    python -m benchmarks.compare --quick    # the 1M x 16 x 16 full case only
    python -m benchmarks.compare --case full-1M-16-16 --case diag-1M-16-16
    python -m benchmarks.compare --extras-only --threads --whole-fit --float32-accuracy
    python -m benchmarks.compare --extras-only --bayesian   # the variational mixture
    python -m benchmarks.compare --extras-only --onedal     # oneDAL's em_gmm, same start
    python -m benchmarks.compare --baseline ../old/fastgmm  # paired against another checkout

For each case it prints the seconds per EM iteration of each library (median
of repeats; an iteration's time is the difference between fits of 1 + m and 1
iterations, divided by m, so set-up is not counted), their ratio, the peak
memory each adds above the input, and fastgmm's achieved GFLOP/s and GB/s next
to this machine's own limits, which the script measures first.  ``bound`` is
the case's lower bound on seconds per iteration from those limits (the largest
of flops / peak FMA rate, exps / exp rate, bytes / read bandwidth) and
``of bound`` the fraction of it fastgmm reaches.
"""

import argparse
import gc
import os
import platform
import threading
import time
import warnings

import numba
import numpy as np
from numba import njit, prange

from .common import fixed_start, mixture_data

# name: (covariance_type, n_samples, n_features, n_components, dtype)
CASES = {
    "full-1M-2-8": ("full", 1_000_000, 2, 8, "float64"),
    "full-1M-16-16": ("full", 1_000_000, 16, 16, "float64"),
    "tied-1M-16-16": ("tied", 1_000_000, 16, 16, "float64"),
    "diag-1M-16-16": ("diag", 1_000_000, 16, 16, "float64"),
    "spherical-1M-16-16": ("spherical", 1_000_000, 16, 16, "float64"),
    "full-200k-64-32": ("full", 200_000, 64, 32, "float64"),
    "full-10M-4-4": ("full", 10_000_000, 4, 4, "float64"),
    "full-1M-16-16-f32": ("full", 1_000_000, 16, 16, "float32"),
    "full-1M-2-8-f32": ("full", 1_000_000, 2, 8, "float32"),
    "diag-1M-16-16-f32": ("diag", 1_000_000, 16, 16, "float32"),
    "full-200k-64-32-f32": ("full", 200_000, 64, 32, "float32"),
}


def work_per_iteration(covariance_type, n, d, k, itemsize):
    """(flops, exps, bytes) of one fastgmm EM iteration, as its kernels do them.

    Per (point, component): full centres (d), sweeps the triangle
    (d(d+1)/2 FMAs), squares (2d), then for the statistics centres again (d),
    scales and sums (2d) and adds the packed triangle (d(d+1)/2 FMAs).  Tied
    does the two triangles once per point and O(d) per component; diag and
    spherical are O(d) throughout.  One exp per (point, component), one log
    per point; the data is read once.
    """
    tri = d * (d + 1)  # flops of d(d+1)/2 FMAs
    if covariance_type == "full":
        flops = n * k * (2 * tri + 6 * d)
    elif covariance_type == "tied":
        flops = n * (2 * tri + 2 * d) + n * k * (5 * d)
    else:
        flops = n * k * (8 * d)
    return flops, n * k + n, n * d * itemsize


# ---------------------------------------------------------------- machine limits


@njit(parallel=True, fastmath=True, cache=False)
def _fma_kernel(x, c, n_rep):
    # Eight independent FMA chains per element of an L1-resident array: one
    # load feeds eight FMAs, so the FMA units, not the loads, set the pace.
    # The factors c[:8] and the zero c[8] have x's dtype, so a float32 x
    # measures float32 FMAs (twice as many per vector).  (LLVM emits 256-bit
    # vectors for Numba code on AVX-512 CPUs too, so this is the peak Numba
    # code can reach here.)
    n_threads = numba.get_num_threads()
    out = np.zeros(n_threads)
    c0, c1, c2, c3, c4, c5, c6, c7 = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    for t in prange(n_threads):
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = c[8]
        for _ in range(n_rep):
            for i in range(x.shape[0]):
                v = x[i]
                s0 += v * c0
                s1 += v * c1
                s2 += v * c2
                s3 += v * c3
                s4 += v * c4
                s5 += v * c5
                s6 += v * c6
                s7 += v * c7
        out[t] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
    return out.sum()


@njit(parallel=True, fastmath=True, cache=False)
def _read_kernel(x):
    total = 0.0
    for i in prange(x.shape[0]):
        total += x[i]
    return total


def _exp_kernel(x, n_rep):
    # fastgmm's own vectorised exp, over tiles as the kernels call it
    from fastgmm._kernels._vector import _exp_shifted

    return _exp_tiles(x, n_rep, _exp_shifted)


@njit(parallel=True, cache=False)
def _exp_tiles(x, n_rep, exp_shifted):
    # Each thread refills a 256-point tile from x (16 tiles, L1-resident, as
    # a kernel's log-probabilities are) and takes its exp, n_rep times over.
    # (Streaming x from main memory instead would halve the rate: that would
    # measure the memory, not the exp.)
    n_threads = numba.get_num_threads()
    n_tiles = x.shape[0] // 256
    out = np.zeros(n_threads)
    for t in prange(n_threads):
        tile = np.empty(256)
        shift = np.zeros(256)
        total = np.zeros(256)
        for _ in range(n_rep):
            for b in range(n_tiles):
                for i in range(256):
                    tile[i] = x[b * 256 + i]
                exp_shifted(tile, shift, total)
        out[t] = total[0]
    return out.sum()


def _best_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return min(times)


def _read_rate():
    x = np.ones(2**27)  # 1 GiB, far beyond the caches
    return x.nbytes / _best_time(lambda: _read_kernel(x), 3) / 1e9


def _fma_rate(dtype):
    a = np.random.default_rng(0).random(256).astype(dtype)
    c = np.array(
        [
            1.0000001,
            0.9999999,
            1.0000002,
            0.9999998,
            1.0000003,
            0.9999997,
            1.0000004,
            0.9999996,
            0.0,
        ],
        dtype=dtype,
    )
    n_rep = 50_000
    t = _best_time(lambda: _fma_kernel(a, c, n_rep))
    return 2 * 8 * a.size * n_rep * numba.get_num_threads() / t / 1e9


def machine_limits():
    """Peak FMA GFLOP/s (float64 and float32), read GB/s and exps/s with all
    threads, measured here."""
    gflops = {"float64": _fma_rate(np.float64), "float32": _fma_rate(np.float32)}
    gbs = _read_rate()
    e = -np.random.default_rng(1).random(16 * 256) * 50
    n_rep = 2000
    exps = e.size * n_rep * numba.get_num_threads() / _best_time(lambda: _exp_kernel(e, n_rep), 3)
    return gflops, gbs, exps


# ---------------------------------------------------------------- measurement


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_peak(fn):
    """(seconds, peak resident bytes added while fn ran)."""
    gc.collect()
    base, peak, done = _rss(), [0], []

    def poll():
        while not done:
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    tic = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - tic
    done.append(1)
    watcher.join()
    return elapsed, max(peak[0], _rss()) - base


def per_iteration(cls, X, start, covariance_type, k, extra_iters, repeats):
    """Median seconds per EM iteration, and the peak memory of the longer fit."""

    def fit(max_iter):
        return cls(k, covariance_type=covariance_type, max_iter=max_iter, tol=0, **start).fit(X)

    per, peaks = [], []
    for _ in range(repeats):
        t1, _ = timed_peak(lambda: fit(1))
        tn, peak = timed_peak(lambda: fit(1 + extra_iters))
        per.append((tn - t1) / extra_iters)
        peaks.append(peak)
    return float(np.median(per)), max(peaks)


def run_case(name, limits, repeats, sk_repeats, skip_sklearn):
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from fastgmm import GaussianMixture

    covariance_type, n, d, k, dtype = CASES[name]
    X = mixture_data(n, d, k, dtype)
    start = fixed_start(X, k, covariance_type)
    if dtype == "float32":
        start = {key: value.astype(np.float32) for key, value in start.items()}
    # compile outside the timings
    GaussianMixture(k, covariance_type=covariance_type, max_iter=2, **start).fit(X[:5000])

    ours, our_peak = per_iteration(GaussianMixture, X, start, covariance_type, k, 5, repeats)
    if skip_sklearn:
        theirs, their_peak = float("nan"), float("nan")
    else:
        theirs, their_peak = per_iteration(
            SkGaussianMixture, X, start, covariance_type, k, 2, sk_repeats
        )

    gflops_peak, gbs_peak, exps_peak = limits
    flops, exps, nbytes = work_per_iteration(covariance_type, n, d, k, X.itemsize)
    # float32 distances and moments run at the float32 FMA rate (exp, log and
    # the per-(point, component) float64 work do not, so this bound is
    # optimistic for float32)
    bound = max(flops / (gflops_peak[dtype] * 1e9), exps / exps_peak, nbytes / (gbs_peak * 1e9))
    return dict(
        name=name,
        ours=ours,
        theirs=theirs,
        ratio=theirs / ours,
        our_peak=our_peak,
        their_peak=their_peak,
        input=X.nbytes,
        gflops=flops / ours / 1e9,
        gbs=nbytes / ours / 1e9,
        bound=bound,
        fraction=bound / ours,
    )


def thread_scaling(names, repeats):
    """Seconds per iteration with 1 and 2 threads (same data, same start)."""
    from fastgmm import GaussianMixture

    print("\nthreads: seconds per EM iteration with n_threads=1 and 2 (median of repeats)")
    for name in names:
        covariance_type, n, d, k, dtype = CASES[name]
        X = mixture_data(n, d, k, dtype)
        start = fixed_start(X, k, covariance_type)
        times = {}
        for n_threads in (1, 2):

            def cls(*args, _t=n_threads, **kwargs):
                return GaussianMixture(*args, n_threads=_t, **kwargs)

            times[n_threads], _ = per_iteration(cls, X, start, covariance_type, k, 3, repeats)
        print(
            f"{name:<20} 1 thread {times[1]:.4f}  2 threads {times[2]:.4f}  "
            f"speed-up {times[1] / times[2]:.2f}x",
            flush=True,
        )


# the variational mixture's cases: (covariance_type, n_samples, n_features, n_components, dtype)
BAYESIAN_CASES = {
    "full-1M-16-16": ("full", 1_000_000, 16, 16, "float64"),
    "diag-1M-16-16": ("diag", 1_000_000, 16, 16, "float64"),
    "full-200k-2-8": ("full", 200_000, 2, 8, "float64"),
}


def bayesian(repeats, sk_repeats, skip_sklearn=False):
    """BayesianGaussianMixture per iteration: fastgmm's, its own
    GaussianMixture's on the same case, and scikit-learn's BayesianGaussianMixture,
    all from the same start (init_params='random_from_data', one seed)."""
    from sklearn.mixture import BayesianGaussianMixture as SkBayesian
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from fastgmm import BayesianGaussianMixture, GaussianMixture

    def keyword(cls):
        def make(k, **kwargs):
            return cls(n_components=k, **kwargs)

        return make

    print(
        "\nBayesianGaussianMixture (BGM) beside GaussianMixture (GMM): seconds per iteration "
        "(fastgmm: median of its fits' iter_times_; scikit-learn: (fit of 3 - fit of 1) / 2), "
        "same start (random_from_data); 'BGM/GMM' is fastgmm's Bayesian over its "
        "GaussianMixture, the ratios are scikit-learn's time over fastgmm's"
    )
    header = (
        f"{'case':<16} {'fastgmm BGM':>11} {'fastgmm GMM':>11} {'BGM/GMM':>7} "
        f"{'sklearn BGM':>11} {'sklearn GMM':>11} {'BGM ratio':>9} {'GMM ratio':>9} "
        f"{'fastgmm MB':>10} {'sklearn MB':>10}"
    )
    print(header)
    print("-" * len(header))
    start = dict(init_params="random_from_data", random_state=0)
    nan = float("nan")
    for name, (covariance_type, n, d, k, dtype) in BAYESIAN_CASES.items():
        X = mixture_data(n, d, k, dtype)
        small = X[:5000]
        BayesianGaussianMixture(n_components=k, covariance_type=covariance_type).fit(small)
        # fastgmm's two estimators: the median of the iterations' own times
        # (iter_times_, the first left out), their fits alternated so that the
        # machine's drifts hit both; the difference of two fits (as for
        # scikit-learn) was seen 25% apart from run to run on 30 ms iterations
        ours, em, peaks = [], [], []
        iters = 20 if n * k * d < 10**7 else 8
        for _ in range(repeats):
            bgm = BayesianGaussianMixture(
                n_components=k, covariance_type=covariance_type, max_iter=iters, tol=0, **start
            )
            _, peak = timed_peak(lambda: bgm.fit(X))  # noqa: B023
            ours.extend(bgm.iter_times_[1:])
            peaks.append(peak)
            gm = GaussianMixture(
                k, covariance_type=covariance_type, max_iter=iters, tol=0, **start
            ).fit(X)
            em.extend(gm.iter_times_[1:])
        ours, em, our_peak = float(np.median(ours)), float(np.median(em)), max(peaks)
        theirs, their_em, their_peak = nan, nan, nan
        if not skip_sklearn:
            theirs, their_peak = per_iteration(
                keyword(SkBayesian), X, start, covariance_type, k, 2, sk_repeats
            )
            their_em, _ = per_iteration(
                SkGaussianMixture, X, start, covariance_type, k, 2, sk_repeats
            )
        print(
            f"{name:<16} {ours:>11.4f} {em:>11.4f} {ours / em:>6.2f}x {theirs:>11.4f} "
            f"{their_em:>11.4f} {theirs / ours:>8.1f}x {their_em / em:>8.1f}x "
            f"{our_peak / 1e6:>10.1f} {their_peak / 1e6:>10.1f}",
            flush=True,
        )


# oneDAL's em_gmm supports full and diagonal covariances, float64 and float32
ONEDAL_CASES = [
    "full-1M-2-8",
    "full-1M-16-16",
    "diag-1M-16-16",
    "full-200k-64-32",
    "full-1M-16-16-f32",
    "full-1M-2-8-f32",
    "diag-1M-16-16-f32",
]


def onedal(repeats):
    """fastgmm and oneDAL's EM for Gaussian mixtures (``daal4py.em_gmm``, shipped
    with scikit-learn-intelex: ``pip install ".[onedal]"``) from the same
    start, seconds per iteration, on the cases oneDAL supports."""
    try:
        import daal4py
    except ImportError:
        print("\noneDAL: daal4py is not installed (pip install '.[onedal]'): section skipped")
        return
    print(
        "\noneDAL em_gmm beside fastgmm: seconds per iteration from the same start "
        "(median of repeats; (fit of 6 - fit of 1) / 5 for both), and the largest "
        "difference of the means after 6 iterations, relative to the largest mean"
    )
    header = (
        f"{'case':<20} {'fastgmm s/it':>12} {'oneDAL s/it':>12} {'ratio':>7} {'means diff':>10}"
    )
    print(header)
    print("-" * len(header))
    for name in ONEDAL_CASES:
        ours, theirs, diff = _onedal_case(daal4py, name, repeats)
        print(f"{name:<20} {ours:>12.4f} {theirs:>12.4f} {theirs / ours:>6.1f}x {diff:>10.1e}")


def _onedal_case(daal4py, name, repeats):
    from fastgmm import GaussianMixture

    covariance_type, n, d, k, dtype = CASES[name]
    X = mixture_data(n, d, k, dtype)
    start = fixed_start(X, k, covariance_type)
    if dtype == "float32":
        start = {key: value.astype(np.float32) for key, value in start.items()}
    precisions = np.asarray(start["precisions_init"], dtype=np.float64)
    if covariance_type == "full":
        covariances = [np.linalg.inv(p).astype(dtype) for p in precisions]
    else:  # oneDAL takes a (1, d) row per component
        covariances = [(1.0 / p)[np.newaxis, :].astype(dtype) for p in precisions]
    weights = np.asarray(start["weights_init"], dtype=dtype)[np.newaxis, :]
    means = np.asarray(start["means_init"], dtype=dtype)

    def theirs(iters):
        algorithm = daal4py.em_gmm(
            nComponents=k, maxIterations=iters, accuracyThreshold=0.0,
            covarianceStorage="full" if covariance_type == "full" else "diagonal",
            fptype="double" if dtype == "float64" else "float",
        )  # fmt: skip
        tic = time.perf_counter()
        result = algorithm.compute(X, weights, means, covariances)
        return time.perf_counter() - tic, result

    def ours(iters):
        gm = GaussianMixture(k, covariance_type=covariance_type, max_iter=iters, tol=0, **start)
        tic = time.perf_counter()
        gm.fit(X)
        return time.perf_counter() - tic, gm

    ours(1)  # compile outside the timings
    theirs(1)
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        t_ours.append((ours(6)[0] - ours(1)[0]) / 5)
        t_theirs.append((theirs(6)[0] - theirs(1)[0]) / 5)
    diff = np.abs(ours(6)[1].means_ - theirs(6)[1].means).max() / np.abs(means).max()
    return float(np.median(t_ours)), float(np.median(t_theirs)), float(diff)


def whole_fit(seeds):
    """Default-parameter fit() on 1M x 16 x 16 full: time and lower bound per seed."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from fastgmm import GaussianMixture

    X = mixture_data(1_000_000, 16, 16, "float64")
    GaussianMixture(16, max_iter=2).fit(X[:5000])
    print("\nwhole fit(), default parameters, 1,000,000 x 16, 16 full components")
    print(
        f"{'seed':>4} {'fastgmm s':>10} {'sklearn s':>10} {'ratio':>7} "
        f"{'fastgmm lower bound':>20} {'sklearn lower bound':>20}"
    )
    ours_lb, theirs_lb, ours_t, theirs_t = [], [], [], []
    for seed in seeds:
        tic = time.perf_counter()
        ours = GaussianMixture(16, random_state=seed).fit(X)
        ours_t.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        theirs = SkGaussianMixture(16, random_state=seed).fit(X)
        theirs_t.append(time.perf_counter() - tic)
        ours_lb.append(ours.lower_bound_)
        theirs_lb.append(theirs.lower_bound_)
        print(
            f"{seed:>4} {ours_t[-1]:>10.2f} {theirs_t[-1]:>10.2f} "
            f"{theirs_t[-1] / ours_t[-1]:>6.1f}x {ours_lb[-1]:>20.6f} {theirs_lb[-1]:>20.6f}",
            flush=True,
        )
    print(
        f"mean {np.mean(ours_t):>10.2f} {np.mean(theirs_t):>10.2f} "
        f"{np.mean(theirs_t) / np.mean(ours_t):>6.1f}x {np.mean(ours_lb):>20.6f} "
        f"{np.mean(theirs_lb):>20.6f}"
    )


_COLD_CHILD = """
import json, sys, time
tic = time.perf_counter()
import numpy as np
import fastgmm
imported = time.perf_counter() - tic
X = np.random.default_rng(0).normal(size=(5000, 4)).astype(sys.argv[2])
times = []
for _ in range(2):
    tic = time.perf_counter()
    gm = fastgmm.GaussianMixture(3, covariance_type=sys.argv[1], random_state=0).fit(X)
    fit = time.perf_counter() - tic
    tic = time.perf_counter()
    gm.predict(X)
    times.append((fit, time.perf_counter() - tic, gm.compile_time_))
print(json.dumps([imported, times]))
"""


def _child_times(covariance_type, dtype, cache_dir):
    import json
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, FASTGMM_NUMBA_CACHE="1")
    out = subprocess.run(
        [sys.executable, "-c", _COLD_CHILD, covariance_type, dtype],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_times(covariance_types=("full", "diag"), dtypes=("float64", "float32")):
    """Fresh processes: an empty disk cache, then the warm one."""
    import tempfile

    print(
        "\ncompilation, a fresh process per line (5000 x 4 rows, 3 components: five blocks, "
        "run on the pass's threads): first fit and "
        "first predict with an empty disk cache, then in a later process (cache warm); "
        "'over warm' is that process's first fit minus its second"
    )
    print(
        f"{'type/dtype':<16} {'cold fit s':>10} {'cold predict s':>14} {'cold total s':>12} "
        f"{'warm fit s':>10} {'over warm s':>11} {'import s':>8}"
    )
    for covariance_type in covariance_types:
        for dtype in dtypes:
            with tempfile.TemporaryDirectory() as cache:
                _, cold = _child_times(covariance_type, dtype, cache)
                imported, warm = _child_times(covariance_type, dtype, cache)
            (fit, predict, _), _ = cold
            (warm_fit, _, _), (second_fit, _, _) = warm
            print(
                f"{covariance_type + '/' + dtype:<16} {fit:>10.2f} {predict:>14.2f} "
                f"{fit + predict:>12.2f} {warm_fit:>10.3f} {warm_fit - second_fit:>11.3f} "
                f"{imported:>8.2f}",
                flush=True,
            )


def initialisation(seeds=range(3)):
    """Default kmeans initialisation on 1M x 16, K=16, against one EM iteration."""
    from fastgmm import GaussianMixture

    X = mixture_data(1_000_000, 16, 16, "float64")
    GaussianMixture(16, max_iter=2).fit(X[:5000])
    init, per_iter = [], []
    for seed in seeds:
        gm = GaussianMixture(16, random_state=seed, max_iter=3, tol=0).fit(X)
        init.append(gm.init_time_)
        per_iter.append(np.median(gm.iter_times_))
    print(
        f"\ninitialisation, 1,000,000 x 16, 16 full, default kmeans, {len(init)} seeds: "
        f"median {np.median(init):.3f} s = {np.median(init) / np.median(per_iter):.1f} EM "
        f"iterations ({np.median(per_iter):.3f} s/it)"
    )


def small_data(sizes=(20, 200, 2000), repeats=31):
    """Whole default fit() on small data, fastgmm time / scikit-learn's."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from fastgmm import GaussianMixture

    rng = np.random.default_rng(0)
    print(
        f"\nsmall data: whole default fit(), 3 features, 2 components, median of {repeats} "
        "seeds, the two libraries interleaved; ratio = fastgmm time / scikit-learn's (below 1: "
        "fastgmm faster)"
    )
    print(f"{'type':<10} " + " ".join(f"{f'{n} rows':>20}" for n in sizes))
    for covariance_type in ("full", "tied", "diag", "spherical"):
        cells = []
        for n in sizes:
            X = np.concatenate([rng.normal(size=(n // 2, 3)), rng.normal(size=(n - n // 2, 3)) + 4])
            GaussianMixture(2, covariance_type=covariance_type).fit(X)  # compiled
            # the two libraries' fits interleaved, seed by seed, the first of
            # each pair alternating: a drift of the machine (other work on
            # it, threads still spinning) weighs on both alike
            ts = {"ours": [], "theirs": []}
            pair = [("ours", GaussianMixture), ("theirs", SkGaussianMixture)]
            for seed in range(repeats):
                for name, cls in pair if seed % 2 == 0 else pair[::-1]:
                    tic = time.perf_counter()
                    cls(2, covariance_type=covariance_type, random_state=seed).fit(X)
                    ts[name].append(time.perf_counter() - tic)
            times = {name: np.median(t) for name, t in ts.items()}
            cells.append(
                f"{times['ours'] * 1e3:5.1f}/{times['theirs'] * 1e3:5.1f} ms "
                f"{times['ours'] / times['theirs']:4.2f}"
            )
        print(f"{covariance_type:<10} " + " ".join(f"{c:>20}" for c in cells), flush=True)


def end_to_end():
    """What a user waits for beyond the iterations."""
    compile_times()
    initialisation()
    whole_fit(range(3))
    small_data()


def float32_accuracy(n_iter=10):
    """How far float32 fits land from the float64 fit of the same numbers."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    from fastgmm import GaussianMixture

    X32 = mixture_data(1_000_000, 16, 16, "float32")
    X64 = X32.astype(np.float64)
    start = fixed_start(X64, 16, "full")
    start32 = {key: value.astype(np.float32) for key, value in start.items()}
    exact = GaussianMixture(16, max_iter=n_iter, tol=0, **start).fit(X64)
    fits = {
        "fastgmm float32": GaussianMixture(16, max_iter=n_iter, tol=0, **start32).fit(X32),
        "sklearn float32": SkGaussianMixture(16, max_iter=n_iter, tol=0, **start32).fit(X32),
    }

    def rel(a, b):
        return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())

    print(
        f"\nfloat32 accuracy: 1,000,000 x 16, 16 full, {n_iter} iterations from one start; "
        "largest difference from fastgmm's float64 fit of the same numbers, "
        "relative to the largest value"
    )
    print(f"{'':<16} {'lower bound':>12} {'means':>9} {'covariances':>12}")
    for name, fit in fits.items():
        print(
            f"{name:<16} {rel(fit.lower_bound_, exact.lower_bound_):>12.1e} "
            f"{rel(fit.means_, exact.means_):>9.1e} "
            f"{rel(fit.covariances_, exact.covariances_):>12.1e}"
        )


def run_for_target(cpu, argv):
    """The same command in a fresh process whose kernels are compiled for
    ``cpu`` (Numba reads its target at import), with the disk cache off so
    that no other code is loaded or left behind."""
    import subprocess
    import sys

    argv = list(argv)
    if "--target" in argv:
        i = argv.index("--target")
        del argv[i : i + 2]
    argv = [a for a in argv if not a.startswith("--target=")]
    # NUMBA_CPU_FEATURES="" : the named CPU's own features (else the host's)
    env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES="", FASTGMM_NUMBA_CACHE="0")
    print(f"\n--- the same, with code compiled for {cpu} ---", flush=True)
    return subprocess.run([sys.executable, "-m", "benchmarks.compare", *argv], env=env).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--quick", action="store_true", help="full-1M-16-16 only")
    parser.add_argument("--repeats", type=int, default=3, help="fastgmm repeats")
    parser.add_argument("--sklearn-repeats", type=int, default=1)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument(
        "--threads", action="store_true", help="also: 1 vs 2 threads on the large cases"
    )
    parser.add_argument(
        "--whole-fit", action="store_true", help="also: default fit() vs scikit-learn over 5 seeds"
    )
    parser.add_argument(
        "--float32-accuracy",
        action="store_true",
        help="also: float32 fits against the float64 fit of the same data",
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="also: compile times (fresh processes), the initialisation, the whole default "
        "fit() over 3 seeds, small-data fits against scikit-learn",
    )
    parser.add_argument(
        "--bayesian",
        action="store_true",
        help="also: BayesianGaussianMixture per iteration against fastgmm's GaussianMixture "
        "and scikit-learn's BayesianGaussianMixture",
    )
    parser.add_argument(
        "--onedal",
        action="store_true",
        help="also: oneDAL's em_gmm (daal4py, from scikit-learn-intelex) from the same start",
    )
    parser.add_argument(
        "--extras-only",
        action="store_true",
        help="only the --threads / --whole-fit / --float32-accuracy / --end-to-end / "
        "--bayesian / --onedal sections",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="instead of the main table: each case's seconds per iteration paired against "
        "the fastgmm package in DIR (another checkout's fastgmm/ folder, e.g. a git "
        "worktree of an earlier commit), both timed back to back in this process, round "
        "after round; prints each one's median and the median of the per-round ratios",
    )
    parser.add_argument("--rounds", type=int, default=7, help="rounds of --baseline (default 7)")
    parser.add_argument(
        "--target",
        metavar="CPU",
        help="also time the same cases with code compiled for this CPU (haswell: AVX2 "
        "only), printed after the native table; any x86-64 machine of that level or "
        "newer runs it",
    )
    args = parser.parse_args(argv)
    names = args.case or (["full-1M-16-16"] if args.quick else list(CASES))
    warnings.simplefilter("ignore")

    import llvmlite.binding as llvm
    import sklearn

    import fastgmm

    target = numba.config.CPU_NAME or llvm.get_host_cpu_name()
    features = numba.config.CPU_FEATURES
    print(
        f"code target: {target}"
        + (" (native)" if numba.config.CPU_NAME is None else f", features {features!r}")
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"numba threads {numba.get_num_threads()}; python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}, scikit-learn "
        f"{sklearn.__version__}, fastgmm {fastgmm.__version__}"
    )
    if args.baseline:
        paired(names, args.baseline, args.rounds)
    elif not args.extras_only:
        side_by_side(names, args)
    if args.threads:
        thread_scaling(["full-1M-16-16", "full-10M-4-4", "full-200k-64-32"], args.repeats)
    if args.whole_fit:
        whole_fit(range(5))
    if args.float32_accuracy:
        float32_accuracy()
    if args.end_to_end:
        end_to_end()
    if args.bayesian:
        bayesian(args.repeats, args.sklearn_repeats, args.no_sklearn)
    if args.onedal:
        onedal(args.repeats)
    if args.target:
        import sys

        rc = run_for_target(args.target, sys.argv[1:] if argv is None else argv)
        if rc:
            raise SystemExit(rc)


def side_by_side(names, args):
    """The main table: every case, fastgmm and scikit-learn, against the limits."""
    limits = machine_limits()
    print(
        f"limits measured: {limits[0]['float64']:.1f} GFLOP/s float64 FMA, "
        f"{limits[0]['float32']:.1f} float32, {limits[1]:.1f} GB/s read, "
        f"{limits[2] / 1e6:.0f} M exp/s"
    )
    header = (
        f"{'case':<20} {'fastgmm s/it':>12} {'sklearn s/it':>12} {'ratio':>7} "
        f"{'fastgmm MB':>10} {'sklearn MB':>10} {'input MB':>8} {'GFLOP/s':>8} "
        f"{'GB/s':>6} {'bound s':>8} {'of bound':>8}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for name in names:
        r = results[name] = run_case(
            name, limits, args.repeats, args.sklearn_repeats, args.no_sklearn
        )
        print(
            f"{r['name']:<20} {r['ours']:>12.4f} {r['theirs']:>12.4f} {r['ratio']:>6.1f}x "
            f"{r['our_peak'] / 1e6:>10.1f} {r['their_peak'] / 1e6:>10.1f} "
            f"{r['input'] / 1e6:>8.0f} {r['gflops']:>8.1f} {r['gbs']:>6.2f} "
            f"{r['bound']:>8.4f} {r['fraction']:>7.0%}",
            flush=True,
        )
    pairs = [(n[: -len("-f32")], n) for n in results if n.endswith("-f32")]
    pairs = [(a, b) for a, b in pairs if a in results]
    if pairs:
        print(
            "float32 vs float64, fastgmm s/it: "
            + ", ".join(f"{a} {results[a]['ours'] / results[b]['ours']:.2f}x" for a, b in pairs)
        )


def _load_baseline(folder):
    """The fastgmm package in ``folder``, imported as ``fastgmm_baseline``
    beside this one (its own relative imports, its own disk cache)."""
    import importlib.util
    import sys

    folder = os.path.abspath(folder)
    init = os.path.join(folder, "__init__.py")
    if not os.path.isfile(init):
        raise SystemExit(f"--baseline: {folder} is not a package folder (no __init__.py)")
    spec = importlib.util.spec_from_file_location(
        "fastgmm_baseline", init, submodule_search_locations=[folder]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastgmm_baseline"] = module
    spec.loader.exec_module(module)
    return module


def paired(names, baseline, rounds):
    """Per-iteration times against another checkout, paired round by round.

    Separate runs of the main table, one version after the other, drift
    with the machine: on this project's shared 2-core VM a case's time moved
    by 10-25% between runs minutes apart, for either version alike.  Here
    each round times both versions back to back (which goes first
    alternates), in one process on the same data and start; the ratio of a
    round is then free of the slow drifts, and the median over rounds of
    the fast ones.  An iteration's time is the main table's (fits of 6 and
    1 iterations, the difference over 5).
    """
    from fastgmm import GaussianMixture

    old = _load_baseline(baseline).GaussianMixture
    print(
        f"paired against {os.path.abspath(baseline)} (baseline), {rounds} rounds; "
        "ratio = this tree's s/it over the baseline's (above 1: slower)"
    )
    header = f"{'case':<20} {'baseline s/it':>13} {'this s/it':>10} {'ratio':>6}  per round"
    print(header)
    print("-" * len(header))
    for name in names:
        covariance_type, n, d, k, dtype = CASES[name]
        X = mixture_data(n, d, k, dtype)
        start = fixed_start(X, k, covariance_type)
        versions = {"baseline": old, "this": GaussianMixture}
        for cls in versions.values():  # compiled or loaded outside the timings
            cls(k, covariance_type=covariance_type, max_iter=2, tol=0, **start).fit(X)
        times = {"baseline": [], "this": []}
        for r in range(rounds):
            for label in ("baseline", "this") if r % 2 == 0 else ("this", "baseline"):
                per, _ = per_iteration(versions[label], X, start, covariance_type, k, 5, 1)
                times[label].append(per)
        ratios = np.array(times["this"]) / np.array(times["baseline"])
        print(
            f"{name:<20} {np.median(times['baseline']):>13.4f} {np.median(times['this']):>10.4f} "
            f"{np.median(ratios):>6.3f}  " + " ".join(f"{x:.2f}" for x in ratios),
            flush=True,
        )
        del X


if __name__ == "__main__":
    main()
