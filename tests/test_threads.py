"""Determinism across thread counts, and fits running at the same time."""

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastgmm import GaussianMixture

from _helpers import COVARIANCE_TYPES, assert_fits_bitwise_equal, make_mixture, quiet_fit


@pytest.fixture(scope="module")
def data():
    # 147 blocks of the default grid (one wave) and a ragged last block;
    # many waves: test_one_and_two_threads_bitwise_equal_over_waves
    X, _ = make_mixture(150_001, 4, 5, seed=0)
    return X


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_and_two_threads_bitwise_equal(data, covariance_type, dtype):
    X = data.astype(dtype)
    params = dict(
        n_components=5,
        covariance_type=covariance_type,
        max_iter=5,
        tol=0,
        random_state=0,
        init_params="random_from_data",
    )
    one = quiet_fit(X, n_threads=1, **params)
    two = quiet_fit(X, n_threads=2, **params)
    assert_fits_bitwise_equal(one, two)
    assert_array_equal(one.predict_proba(X[:1000]), two.predict_proba(X[:1000]))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_and_two_threads_bitwise_equal_over_waves(covariance_type, small_grid):
    """The same over a grid of many waves (each a start of the threads) of
    3 blocks of 16 rows, the last wave and block ragged."""
    X = make_mixture(5_001, 3, 3, seed=1)[0]
    for dtype in (np.float64, np.float32):
        params = dict(
            n_components=3, covariance_type=covariance_type, max_iter=4, tol=0, random_state=0
        )
        params["init_params"] = "random_from_data"
        one = quiet_fit(X.astype(dtype), n_threads=1, **params)
        two = quiet_fit(X.astype(dtype), n_threads=2, **params)
        assert_fits_bitwise_equal(one, two)


def test_same_random_state_bitwise_equal(data):
    a = quiet_fit(data, n_components=5, random_state=3, max_iter=5)
    b = quiet_fit(data, n_components=5, random_state=3, max_iter=5)
    assert_fits_bitwise_equal(a, b)


def test_n_threads_restored():
    from fastgmm import _threads

    X, _ = make_mixture(300, 2, 2)
    before = _threads.current()
    quiet_fit(X, n_components=2, n_threads=1)
    assert _threads.current() == before
    # also when the fit raises from inside the kernels' context
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(
            2,
            reg_covar=0,
            n_threads=1,
            means_init=[[0, 0], [1, 1]],
            weights_init=[0.5, 0.5],
            precisions_init=[np.eye(2)] * 2,
        ).fit(np.zeros((10, 2)))
    assert _threads.current() == before


def test_concurrent_fits_equal_sequential(data):
    X = data[:40_000]
    jobs = [
        dict(n_components=3, covariance_type=ct, random_state=i, max_iter=10, n_threads=1 + i % 2)
        for i, ct in enumerate(COVARIANCE_TYPES)
    ]
    sequential = [quiet_fit(X, **job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda job: quiet_fit(X, **job), jobs))
    for a, b in zip(sequential, concurrent):
        assert_fits_bitwise_equal(a, b)
    with ThreadPoolExecutor(max_workers=4) as pool:
        labels = list(pool.map(lambda gm: gm.predict(X), sequential))
    for gm, lab in zip(sequential, labels):
        assert_array_equal(lab, gm.predict(X))


def test_small_data_runs_on_the_calling_thread():
    from fastgmm import _config, _threads

    with _threads.threads(None, n_rows=_config.SERIAL_ROWS):
        assert _threads.current() == 1
    with _threads.threads(None, n_rows=_config.SERIAL_ROWS + 1):
        assert _threads.current() == numba.config.NUMBA_NUM_THREADS
    with _threads.threads(2, n_rows=10):  # asked for: kept
        assert _threads.current() == min(2, numba.config.NUMBA_NUM_THREADS)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_small_data_path_gives_the_parallel_result(covariance_type):
    # 2,000 rows (two blocks): serial by default, against two threads asked for
    X = make_mixture(2000, 3, 3, seed=4)[0]
    for dtype in (np.float64, np.float32):
        params = dict(n_components=3, covariance_type=covariance_type, random_state=1)
        serial = quiet_fit(X.astype(dtype), **params)
        parallel = quiet_fit(X.astype(dtype), n_threads=2, **params)
        assert_fits_bitwise_equal(serial, parallel)
        assert_array_equal(serial.score_samples(X), parallel.score_samples(X))


def test_numba_thread_count_set_by_the_caller_is_followed():
    """n_threads=None: NUMBA_NUM_THREADS, or what the caller set through
    numba.set_num_threads (this Python thread's), as before fastgmm ran its
    passes on threads of its own."""
    from fastgmm import _threads

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert _threads.current() == 1
        with _threads.threads(2):
            assert _threads.current() == min(2, numba.config.NUMBA_NUM_THREADS)
        assert _threads.current() == 1
    finally:
        numba.set_num_threads(before)


_FORK_SCRIPT = """
import json, os, select, sys, warnings
import numpy as np
from fastgmm import GaussianMixture
from fastgmm._kernels import _parallel

warnings.simplefilter("ignore")
X = np.random.default_rng(0).normal(size=(20_000, 4))
params = dict(n_components=3, random_state=0, max_iter=5, n_threads=2)
params["init_params"] = "random_from_data"
parent = GaussianMixture(**params).fit(X)
assert _parallel._helpers, "the parent's passes started no helper"
read, write = os.pipe()
pid = os.fork()
if pid == 0:  # the child: one fit, then what it saw, down the pipe
    try:
        child = GaussianMixture(**params).fit(X)
        seen = {
            "equal": bool((child.means_ == parent.means_).all()),
            "helpers": [t.is_alive() for t in _parallel._helpers],
            "work_left": _parallel._tasks.qsize(),
        }
        os.write(write, json.dumps(seen).encode())
    finally:
        os._exit(0)
os.close(write)
ready, _, _ = select.select([read], [], [], 120)
if not ready:
    os.kill(pid, 9)
print(os.read(read, 1 << 16).decode() if ready else "hung")
os.waitpid(pid, 0)
"""


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_runs_parallel_passes():
    """A child forked after parallel passes has none of its parent's helper
    threads: its passes start helpers of its own (work left for the parent's
    would never run, and pile up) and give the parent's result.  In a fresh
    process (a fork here would copy the locks of whatever threads other
    tests left running), and with a start that is not scikit-learn's
    k-means (its OpenMP threads do not survive a fork, with or without
    fastgmm)."""
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last != "hung", "the forked child's fit hung"
    assert json.loads(last) == {"equal": True, "helpers": [True], "work_left": 0}
