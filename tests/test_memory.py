"""fit never allocates an n_samples x n_components array (sklearn allocates several)."""

import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from fastgmm import GaussianMixture

N_SAMPLES, N_FEATURES, N_COMPONENTS = 200_000, 8, 64
ONE_RESP_ARRAY = N_SAMPLES * N_COMPONENTS * 8  # bytes of one float64 n x K array


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(N_SAMPLES, N_FEATURES))


def traced_peak(fit):
    tracemalloc.start()
    try:
        fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("covariance_type, init_params", [("full", "kmeans"), ("diag", "random")])
def test_fit_peak_python_allocations(X, covariance_type, init_params):
    params = dict(
        covariance_type=covariance_type, init_params=init_params, max_iter=2, tol=0, random_state=0
    )
    GaussianMixture(N_COMPONENTS, **params).fit(X[:2000])  # compile outside the trace
    ours = traced_peak(lambda: GaussianMixture(N_COMPONENTS, **params).fit(X))
    assert ours < ONE_RESP_ARRAY, f"peak {ours / 2**20:.1f} MiB"


def test_the_measurement_sees_resp_arrays(X):
    """The same measurement on sklearn finds its n x K arrays: the test can fail."""
    theirs = traced_peak(
        lambda: SkGaussianMixture(
            N_COMPONENTS, init_params="random_from_data", max_iter=1, random_state=0
        ).fit(X)
    )
    assert theirs > 2 * ONE_RESP_ARRAY


def test_fit_peak_rss_in_subprocess():
    """All memory, kernels' own scratch included: peak RSS above the input."""
    script = textwrap.dedent(f"""
        import json, os, threading, time, warnings
        import numpy as np
        from fastgmm import GaussianMixture

        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

        warnings.simplefilter("ignore")
        X = np.random.default_rng(0).normal(size=({N_SAMPLES}, {N_FEATURES}))
        GaussianMixture({N_COMPONENTS}, max_iter=2).fit(X[:5000])  # compile first
        base, peak, done = rss(), [0], []

        def poll():
            while not done:
                peak[0] = max(peak[0], rss())
                time.sleep(0.002)

        t = threading.Thread(target=poll)
        t.start()
        GaussianMixture({N_COMPONENTS}, max_iter=3, tol=0, random_state=0).fit(X)
        done.append(1)
        t.join()
        print(json.dumps({{"extra": peak[0] - base}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    extra = json.loads(out.stdout.strip().splitlines()[-1])["extra"]
    assert extra < ONE_RESP_ARRAY, f"peak RSS {extra / 2**20:.1f} MiB above the input"


def test_float32_input_is_not_copied():
    """A float64 copy of float32 data would allocate twice its size."""
    X32 = np.random.default_rng(1).normal(size=(1_000_000, 8)).astype(np.float32)
    params = dict(max_iter=2, tol=0, random_state=0, init_params="random_from_data")
    GaussianMixture(8, **params).fit(X32[:2000])
    peak = traced_peak(lambda: GaussianMixture(8, **params).fit(X32))
    # The largest scratch is initialisation's: sklearn's draw of the rows
    # (a permutation of n int64) and an 8 MiB chunk of responsibilities.
    assert peak < X32.nbytes, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    "method, out_bytes",
    [
        ("predict", N_SAMPLES * 8),
        ("score_samples", N_SAMPLES * 8),
        ("predict_proba", N_SAMPLES * N_COMPONENTS * 8),
    ],
)
def test_predict_allocates_only_its_output(X, method, out_bytes):
    gm = GaussianMixture(N_COMPONENTS, max_iter=1, init_params="random_from_data", random_state=0)
    gm.fit(X[:5000])
    getattr(gm, method)(X[:100])
    peak = traced_peak(lambda: getattr(gm, method)(X))
    assert peak < out_bytes + 2**20, f"peak {peak / 2**20:.1f} MiB"
