"""Kernels and statistics against the slow references in ``reference.py``."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm._mstep import GaussianParameters, m_step, unpack_triangle
from fastgmm._sources import ArraySource

import reference
from _helpers import COVARIANCE_TYPES, jitted_call, make_mixture

DTYPES = [np.float64, np.float32]


def random_parameters(covariance_type, n_components, n_features, seed=1):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(n_components))
    means = rng.normal(scale=3.0, size=(n_components, n_features))
    full = []
    for _ in range(n_components):
        A = rng.normal(size=(n_features, n_features))
        full.append(A @ A.T / n_features + 0.5 * np.eye(n_features))
    full = np.array(full)
    covariances = {
        "full": full,
        "tied": full[0],
        "diag": np.array([np.diag(c) for c in full]),
        "spherical": np.array([np.trace(c) / n_features for c in full]),
    }[covariance_type]
    # Precision Cholesky by the definition U = inv(chol(Sigma)).T, with plain
    # inverses (the library uses triangular solves).
    if covariance_type == "full":
        prec_chol = np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in covariances])
    elif covariance_type == "tied":
        prec_chol = np.linalg.inv(np.linalg.cholesky(covariances)).T
    else:
        prec_chol = 1.0 / np.sqrt(covariances)
    return GaussianParameters(weights, means, covariances, prec_chol)


def reference_scatter(scatter, covariance_type):
    """The library's scatter layout from full per-component matrices."""
    if covariance_type == "full":
        return scatter
    if covariance_type == "tied":
        return scatter.sum(axis=0)
    diag = np.diagonal(scatter, axis1=1, axis2=2)
    return diag if covariance_type == "diag" else diag.sum(axis=1)


def library_scatter(stats):
    n_features = stats.n_features
    if stats.covariance_type == "full":
        return unpack_triangle(stats.scatter, n_features)
    if stats.covariance_type == "tied":
        return unpack_triangle(stats.scatter[0], n_features)
    if stats.covariance_type == "diag":
        return stats.scatter
    return stats.scatter[:, 0]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_features", [4, 7])  # full: its small and its blocked path
def test_accumulate_matches_reference(covariance_type, dtype, weighted, n_features, small_grid):
    X, _ = make_mixture(203, n_features, 3, dtype=dtype)
    params = random_parameters(covariance_type, 3, n_features)
    w = np.random.default_rng(2).uniform(0, 3, len(X)) if weighted else None
    if weighted:
        w[::7] = 0.0

    stats = ArraySource(X, w).accumulate(params, covariance_type)

    resp = reference.responsibilities(
        X, params.weights, params.means, params.covariances, covariance_type
    )
    nk, sums, scatter = reference.weighted_statistics(X, resp, w, stats.shifts)
    lse = reference.score_samples(
        X, params.weights, params.means, params.covariances, covariance_type
    )
    wt = np.ones(len(X)) if w is None else w
    # float32 input: distances and moment products in float32 (eps 6e-8)
    tol = 1e-10 if dtype == np.float64 else 1e-6
    assert_allclose(stats.nk, nk, rtol=tol)
    assert_allclose(stats.sums, sums, rtol=tol, atol=tol * np.abs(sums).max())
    expected = reference_scatter(scatter, covariance_type)
    assert_allclose(library_scatter(stats), expected, rtol=tol, atol=tol * np.abs(expected).max())
    assert_allclose(stats.log_likelihood, np.dot(wt, lse), rtol=tol)
    assert stats.sum_weight == pytest.approx(wt.sum(), rel=1e-14)
    assert stats.n_samples == len(X)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
@pytest.mark.parametrize("n_features", [2, 3, 6])
def test_factors_layout_round_trips(covariance_type, n_features):
    """The kernels take full's and tied's factors flattened with at most four
    features (their small path); as_matrices gives the host the padded
    lower factors U^T back, whatever the width."""
    from fastgmm._kernels import as_matrices, prepare

    params = random_parameters(covariance_type, 3, n_features)
    _, args = prepare(params, covariance_type)
    matrices_ndim = 3 if covariance_type == "full" else 2
    assert args[1].ndim == matrices_ndim - (n_features <= 4)  # flattened: the small path
    lower = as_matrices(covariance_type, args)[1]
    chol = params.precisions_cholesky
    expected = chol.transpose(0, 2, 1) if covariance_type == "full" else chol.T
    assert_array_equal(lower[..., :n_features, :n_features], expected)
    assert not lower[..., n_features:, :].any() and not lower[..., :, n_features:].any()


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_full_with_two_features_or_fewer_matches_reference(n_features, dtype, small_grid):
    """Full with d <= 2 has its own two-feature loops (and padding)."""
    X, _ = make_mixture(203, n_features, 3, dtype=dtype, seed=8)
    params = random_parameters("full", 3, n_features, seed=9)
    w = np.random.default_rng(3).uniform(0, 2, len(X))

    stats = ArraySource(X, w).accumulate(params, "full")
    lse = np.empty(len(X), dtype=dtype)
    ArraySource(X).score(params, "full", lse=lse)

    args = (X, params.weights, params.means, params.covariances, "full")
    nk, sums, scatter = reference.weighted_statistics(
        X, reference.responsibilities(*args), w, stats.shifts
    )
    tol = 1e-10 if dtype == np.float64 else 1e-6
    # (float32 distances: a far component's tiny N_k is exact only to ~1e-5)
    assert_allclose(stats.nk, nk, rtol=tol, atol=0 if dtype == np.float64 else tol * nk.max())
    assert_allclose(stats.sums, sums, rtol=tol, atol=tol * np.abs(sums).max())
    assert_allclose(library_scatter(stats), scatter, rtol=tol, atol=tol * np.abs(scatter).max())
    assert_allclose(lse, reference.score_samples(*args), rtol=tol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_em_step_matches_reference(covariance_type, dtype, small_grid):
    X, _ = make_mixture(150, 3, 2, dtype=dtype, seed=3)
    params = random_parameters(covariance_type, 2, 3, seed=4)
    w = np.random.default_rng(5).integers(0, 4, len(X)).astype(float)

    stats = ArraySource(X, w).accumulate(params, covariance_type)
    new = m_step(stats, 1e-6, np.finfo(np.float64).eps)

    ll, (weights, means, covariances) = reference.em_step(
        X, w, params.weights, params.means, params.covariances, covariance_type, 1e-6
    )
    if dtype == np.float64:
        assert_allclose(stats.log_likelihood / stats.sum_weight, ll, rtol=1e-12)
        assert_allclose(new.weights, weights, rtol=1e-12)
        assert_allclose(new.means, means, rtol=1e-10, atol=1e-12)
        assert_allclose(new.covariances, covariances, rtol=1e-10, atol=1e-12)
    else:  # distances and moments in float32: float32 resolution
        assert_allclose(stats.log_likelihood / stats.sum_weight, ll, rtol=1e-6)
        assert_allclose(new.weights, weights, rtol=1e-5)
        assert_allclose(new.means, means, rtol=1e-5, atol=1e-5 * np.abs(means).max())
        assert_allclose(
            new.covariances, covariances, rtol=1e-5, atol=1e-5 * np.abs(covariances).max()
        )
    assert_allclose(
        reference.precisions(new.covariances, covariance_type),
        _precisions(new.precisions_cholesky, covariance_type),
        rtol=1e-9,
    )


def _precisions(prec_chol, covariance_type):
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", prec_chol, prec_chol)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_features", [3, 5])  # full: its small and its blocked path
def test_score_matches_reference(covariance_type, dtype, n_features, small_grid):
    X, _ = make_mixture(157, n_features, 4, dtype=dtype, seed=6)
    params = random_parameters(covariance_type, 4, n_features, seed=7)
    n = len(X)
    lse = np.empty(n, dtype=dtype)
    labels = np.empty(n, dtype=np.int64)
    resp = np.empty((n, 4), dtype=dtype)
    ArraySource(X).score(params, covariance_type, lse=lse, labels=labels, resp=resp)

    args = (X, params.weights, params.means, params.covariances, covariance_type)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(lse, reference.score_samples(*args), rtol=rtol)
    assert_allclose(
        resp,
        reference.responsibilities(*args),
        rtol=rtol * 10,
        atol=1e-12 if dtype == np.float64 else 1e-5,
    )
    assert_array_equal(labels, reference.weighted_log_prob(*args).argmax(axis=1))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [3, 6])  # full: its small and its blocked path
def test_accumulate_resp_matches_reference(covariance_type, n_features, small_grid):
    X, _ = make_mixture(97, n_features, 3, seed=8)
    rng = np.random.default_rng(9)
    resp = rng.dirichlet(np.ones(3), size=len(X))
    resp[rng.random(len(X)) < 0.3, 0] = 0.0  # exact zeros are skipped
    w = rng.uniform(0, 2, len(X))
    shifts = rng.normal(size=(3, n_features))

    calls = []

    def resp_for(start, stop, rows):
        assert_array_equal(rows, X[start:stop])
        calls.append((start, stop))
        return resp[start:stop]

    if covariance_type == "tied":
        shifts[:] = shifts[0]  # tied statistics share one shift
    stats = ArraySource(X, w).accumulate_resp(resp_for, shifts, covariance_type)
    nk, sums, scatter = reference.weighted_statistics(X, resp, w, shifts)
    if covariance_type == "tied":
        # every row with its weight, whatever its responsibilities (sklearn's
        # tied initialisation); equal to the sum over k when rows sum to one
        expected = np.einsum("n,ni,nj->ij", w, X - shifts[0], X - shifts[0])
    else:
        expected = reference_scatter(scatter, covariance_type)
    assert_allclose(stats.nk, nk, rtol=1e-12)
    assert_allclose(stats.sums, sums, rtol=1e-11, atol=1e-12)
    assert_allclose(library_scatter(stats), expected, rtol=1e-11, atol=1e-12)
    # consecutive, in order, covering every row once
    assert calls[0][0] == 0 and calls[-1][1] == len(X)
    assert all(a[1] == b[0] for a, b in zip(calls, calls[1:]))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_add(covariance_type):
    """Statistics of two halves, added, are the statistics of the whole."""
    X, _ = make_mixture(500, 3, 3, seed=10)
    params = random_parameters(covariance_type, 3, 3, seed=11)
    whole = ArraySource(X).accumulate(params, covariance_type)
    halves = ArraySource(X[:217]).accumulate(params, covariance_type) + ArraySource(
        X[217:]
    ).accumulate(params, covariance_type)
    for field in ("nk", "sums", "scatter"):
        assert_allclose(getattr(halves, field), getattr(whole, field), rtol=1e-12)
    assert halves.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-13)
    assert halves.sum_weight == whole.sum_weight
    assert halves.n_samples == whole.n_samples


def test_statistics_refuse_different_shifts():
    X, _ = make_mixture(50, 2, 2)
    a = ArraySource(X).accumulate(random_parameters("full", 2, 2, seed=1), "full")
    b = ArraySource(X).accumulate(random_parameters("full", 2, 2, seed=2), "full")
    with pytest.raises(ValueError, match="different shifts"):
        a + b


def test_zero_weight_component_is_finite():
    """A component of weight 0 has log-weight -inf; nothing becomes NaN."""
    X, _ = make_mixture(100, 2, 2)
    params = random_parameters("full", 2, 2)
    params = params._replace(weights=np.array([1.0, 0.0]))
    stats = ArraySource(X).accumulate(params, "full")
    assert np.isfinite(stats.log_likelihood)
    assert stats.nk[1] == 0.0
    assert np.all(np.isfinite(stats.scatter))


def test_vectorised_exp_within_one_ulp_of_numpy():
    from fastgmm._kernels._vector import _LOG_FLOOR, _exp_shifted

    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            -rng.random(100_000) * 50,
            -rng.random(10_000) * 800,
            [0.0, -1e-300, _LOG_FLOOR, _LOG_FLOOR + 1e-9, -np.inf],
        ]
    )
    expected = np.where(x > _LOG_FLOOR, np.exp(x), 0.0)
    got = x.copy()
    total = np.full(x.size, 0.5)
    jitted_call(_exp_shifted)(got, np.zeros(x.size), total)
    assert_array_equal(total, 0.5 + got)  # and it adds each exp to the totals
    assert_array_equal(got == 0, expected == 0)
    nonzero = expected > 0
    ulps = np.abs(got[nonzero] - expected[nonzero]) / np.spacing(expected[nonzero])
    assert ulps.max() <= 1.0


def test_vectorised_log_within_two_ulp_of_numpy():
    from fastgmm._kernels._vector import _add_log

    rng = np.random.default_rng(1)
    # the kernels take logs of sums of exps in [1, K]; any positive normal works
    x = np.concatenate(
        [
            1 + rng.random(100_000) * 63,
            np.exp(rng.uniform(-700, 700, 100_000)),
            [1.0, 2.0, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 2)],
        ]
    )
    add_log = jitted_call(_add_log)
    got = np.zeros(x.size)
    add_log(x, got)
    expected = np.log(x)
    ulps = np.abs(got - expected) / np.spacing(np.abs(expected))
    assert ulps[expected != 0].max() <= 2.0
    assert got[x == 1.0][0] == 0.0
    kept = np.full(2, 0.25)  # no log of 0 or below: out is left alone
    add_log(np.array([0.0, -1.0]), kept)
    assert_array_equal(kept, 0.25)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_statistics_stay_accurate_over_many_rows(covariance_type):
    """float32 input: distances, products and each tile's sums are float32,
    but the tiles add up in float64, so the error stays at float32
    resolution however many rows there are.  (A float32 running sum over
    400,000 rows drifts by ~1e-5 to 1e-4 relative.)"""
    rng = np.random.default_rng(11)
    X = (rng.normal(size=(400_000, 3)) * [1.0, 2.0, 0.5] + 1.5).astype(np.float32)
    params = random_parameters(covariance_type, 2, 3, seed=12)
    params.means[:] = [[1.0, 1.0, 1.5], [2.0, 2.5, 1.0]]

    stats = ArraySource(X).accumulate(params, covariance_type)

    resp = reference.responsibilities(
        X, params.weights, params.means, params.covariances, covariance_type
    )
    X64 = X.astype(np.float64)
    nk = resp.sum(axis=0)
    sums = np.stack([resp[:, k] @ (X64 - stats.shifts[k]) for k in range(2)])
    scatter = np.stack(
        [
            np.einsum("i,ij,il->jl", resp[:, k], X64 - stats.shifts[k], X64 - stats.shifts[k])
            for k in range(2)
        ]
    )
    expected = reference_scatter(scatter, covariance_type)
    assert_allclose(stats.nk, nk, rtol=1e-6)
    assert_allclose(stats.sums, sums, atol=2e-6 * np.abs(sums).max())
    assert_allclose(library_scatter(stats), expected, rtol=2e-6, atol=2e-6 * np.abs(expected).max())


def test_kernels_in_bounds(boundscheck_run):
    """Every kernel path on small shapes with Numba's bounds checks on, in a
    fresh process with the disk cache off (checked code is never cached):
    an out-of-bounds access raises there.  The script's canary shows the
    checks are live: a kernel called past fastgmm's shape checks with an
    output too short for its rows raises IndexError.  (The process starts
    when the suite is collected: see conftest.py.)"""
    returncode, out, err = boundscheck_run
    assert returncode == 0, err[-3000:]
    assert out.split() == "in bounds canary raised IndexError".split()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_half_scatter_blocks_sum_the_same_block(dtype):
    """The 4 x 2 halves that 16-register targets (AVX2) compile instead of
    the 4 x 4 scatter block, and their diagonal block in two passes, add the
    same sums to the same entries (here all are compiled for this machine),
    and each matches NumPy."""
    from fastgmm._kernels import _blocks

    _add_diagonal_rows01, _add_diagonal_rows23, _add_scatter_block, _add_scatter_half = (
        jitted_call(getattr(_blocks, name))
        for name in (
            "_add_diagonal_rows01", "_add_diagonal_rows23", "_add_scatter_block",
            "_add_scatter_half",
        )
    )  # fmt: skip

    rng = np.random.default_rng(3)
    xt = rng.normal(size=(12, 256)).astype(dtype)
    r = rng.uniform(size=256).astype(dtype)
    shift = rng.normal(size=12).astype(dtype)
    halves = np.zeros((12, 12))
    _add_scatter_half(xt, r, shift, 4, 8, halves)
    _add_scatter_half(xt, r, shift, 4, 10, halves)
    e = xt.astype(np.float64) - shift[:, None].astype(np.float64)
    expected = np.zeros((12, 12))
    expected[4:8, 8:12] = (r * e[4:8]) @ e[8:12].T
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    assert_allclose(halves, expected, rtol=rtol, atol=rtol)
    assert np.count_nonzero(halves) == 16
    whole = np.zeros((12, 12))
    _add_scatter_block(xt, r, shift, 4, 8, whole)
    assert_allclose(whole, expected, rtol=rtol, atol=rtol)
    # the diagonal block in two passes: its upper triangle and its sums
    diagonal, sums = np.zeros((12, 12)), np.zeros(12)
    _add_diagonal_rows01(xt, r, shift, 4, sums, diagonal)
    _add_diagonal_rows23(xt, r, shift, 4, sums, diagonal)
    block = (r * e[4:8]) @ e[4:8].T
    assert_allclose(diagonal[4:8, 4:8], np.triu(block), rtol=rtol, atol=rtol)
    assert np.count_nonzero(diagonal) == 10
    assert_allclose(sums[4:8], (r * e[4:8]).sum(axis=1), rtol=rtol, atol=rtol)


def test_register_blocks_follow_the_compile_target(monkeypatch):
    """16 vector registers (x86 without AVX-512: the named CPU's own
    features, or features given without avx512f) choose the half blocks."""
    import platform

    from numba.core import config

    from fastgmm._kernels._vector import sixteen_vector_registers

    if platform.machine().lower() not in ("x86_64", "amd64"):
        assert not sixteen_vector_registers()
        return
    for name, features, expected in [
        ("haswell", "", True),
        ("znver3", "", True),
        ("skylake-avx512", "", False),
        ("znver4", "", False),
        ("haswell", "+avx,+avx2,+fma", True),
        ("haswell", "+avx,+avx2,+fma,+avx512f", False),
    ]:
        monkeypatch.setattr(config, "CPU_NAME", name)
        monkeypatch.setattr(config, "CPU_FEATURES", features)
        assert sixteen_vector_registers() is expected, (name, features)
    monkeypatch.setattr(config, "ENABLE_AVX", False)
    assert sixteen_vector_registers()


def _asm_lines(cpu, code):
    """Stdout lines of ``code`` run in a fresh process that compiles for
    ``cpu`` (its own features, cache off); x86-64 only."""
    import os
    import platform
    import subprocess
    import sys

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("x86-64 code generation")
    env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES="", FASTGMM_NUMBA_CACHE="0")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split("\n")


def test_row_loops_index_without_wrap_around():
    """A loop over a block's rows that indexes ``a[start + i]`` wraps a
    negative index around, as far as LLVM knows: AVX-512 code then gathers
    and scatters every vector of rows one lane at a time (k-means++'s
    candidate pass ran 2.3x slower so).  The kernels index views of the
    block's rows from 0 instead.  Compiled for an AVX-512 CPU, never run, so
    any x86-64 machine can check it."""
    code = (
        "import re\n"
        "from numba import types\n"
        "from fastgmm._kernels._tiles import _write_tile\n"
        "from fastgmm._kernels.kmeans import _load_shifted, _candidates_block\n"
        "def a(dtype, ndim, readonly=False):\n"
        "    return types.Array(dtype, ndim, 'C', readonly=readonly)\n"
        "f8, i8 = types.float64, types.int64\n"
        "sigs = (\n"
        "    (_write_tile, (i8, i8, a(f8, 2), a(f8, 1), a(f8, 1), a(f8, 2), a(f8, 1),\n"
        "                   a(i8, 1), a(f8, 2))),\n"
        "    (_load_shifted, (a(f8, 2, True), a(f8, 1, True), a(f8, 1, True), i8, i8,\n"
        "                     a(f8, 2), a(f8, 1))),\n"
        "    (_candidates_block, (i8, i8, a(f8, 3, True), a(f8, 2, True), a(f8, 1, True),\n"
        "                       a(f8, 2, True), a(f8, 1, True), a(i8, 1, True),\n"
        "                       a(f8, 2, True), a(f8, 2), a(f8, 2))),\n"
        ")\n"
        "for f, sig in sigs:\n"
        "    f.compile(sig)\n"
        "    asm = f.inspect_asm(sig)\n"
        "    lanes = re.findall(r'\\bvp?(?:gather|scatter)', asm)\n"
        "    print(f.__name__, 'ymm' in asm or 'zmm' in asm, len(lanes))\n"
    )
    lines = _asm_lines("skylake-avx512", code)
    assert lines[:3] == [
        "_write_tile True 0",
        "_load_shifted True 0",
        "_candidates_block True 0",
    ], lines


def test_avx2_exp_and_log_are_vector_code():
    """The exp and log compiled for an AVX2-only CPU (haswell) are vector code
    with no float <-> int conversion: AVX2 has no vector float64 <-> int64
    conversion, and one in the loop made LLVM scalarise the whole exp.
    Compiled, never run, so any x86-64 machine can check it."""
    code = (
        "import re\n"
        "from numba import types\n"
        "from fastgmm._kernels._vector import _add_log, _exp_shifted\n"
        "f8 = types.Array(types.float64, 1, 'C')\n"
        "for f, sig in ((_exp_shifted, (f8, f8, f8)), (_add_log, (f8, f8))):\n"
        "    f.compile(sig)\n"
        "    asm = f.inspect_asm(sig)\n"
        "    print(f.__name__, 'ymm' in asm, 'zmm' in asm,\n"
        "          sorted(set(re.findall(r'\\bv?cvtt?(?:sd2si|si2sd|pd2qq|qq2pd)\\w*', asm))))\n"
    )
    lines = _asm_lines("haswell", code)
    assert lines[:2] == ["_exp_shifted True False []", "_add_log True False []"], lines


def test_a_pass_runs_every_block_once_and_raises_a_blocks_error():
    """The threads of a pass run every block once, whatever the runs and
    the thread count; a block's exception is raised in the caller, as it is,
    once every thread has stopped (no statistics with a block missing)."""
    from numba import njit

    from fastgmm import _threads
    from fastgmm._kernels import _parallel

    @njit(nogil=True)
    def block(first, last, out, bad):
        for b in range(first, last):
            if b == bad:
                np.empty(-1)  # ValueError inside the block
            out[b] += 2.0 * b

    for n_threads in (1, 2, 3, 8):
        with _threads.threads(n_threads):
            for n_blocks in (1, 2, 3, 64, 1000):
                out = np.zeros(n_blocks)
                _parallel.run_blocks(block, n_blocks, (out, -1))
                assert_array_equal(out, 2.0 * np.arange(n_blocks))  # every block, once
            with pytest.raises(ValueError, match="negative dimensions"):
                _parallel.run_blocks(block, 64, (np.zeros(64), 3))
            with pytest.raises(ValueError, match="negative dimensions"):
                _parallel.run_blocks(block, 2, (np.zeros(2), 1))
