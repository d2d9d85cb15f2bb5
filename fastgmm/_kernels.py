"""Numba kernels: the only module that imports numba.

Arrays and scalars in, arrays out.  Two jobs, one kernel per covariance type
for each:

* ``_accumulate_<type>``: one fused pass of the E-step and the sufficient
  statistics.  Rows are cut into blocks of ``block_rows``; block ``b`` writes
  its partial statistics into ``part_*[b]`` and the caller adds them up in
  block order.  Which thread runs which block never changes a bit of the
  result.
* ``_score_<type>``: the same log-probabilities with accumulation switched
  off, writing per-row outputs (log-likelihood, label or responsibilities).

Notation shared by all kernels (sklearn's): ``prec_chol`` is the Cholesky factor
``U`` of the precision, upper triangular, ``precision = U U^T``.  Then for
``y = U^T (x - mu)``::

    log N(x | mu, Sigma) = -d/2 log(2 pi) + sum(log diag U) - |y|^2 / 2

so no matrix is ever inverted here.  The constant and ``log pi_k`` arrive
folded into ``log_norm[k]``.  For full and tied the kernels take
``lower = U^T`` (row ``j`` of ``lower`` is column ``j`` of ``U``) so that the
inner product runs over contiguous memory.

Scatter statistics are kept packed: the upper triangle of a symmetric
``d x d`` matrix, row by row, ``d (d + 1) / 2`` numbers.

Statistics are accumulated in float64 for float32 input too; the input is
read in place, whatever its dtype.
"""

import math
import threading
from contextlib import contextmanager

import numba
import numpy as np
from numba import njit, prange

from ._config import NUMBA_CACHE

_SERIAL = dict(cache=NUMBA_CACHE, nogil=True)
_PARALLEL = dict(cache=NUMBA_CACHE, nogil=True, parallel=True)


# --------------------------------------------------------------------------
# Per-row helpers (inlined into the kernels by LLVM)


@njit(**_SERIAL)
def _logsumexp(logp):
    """log(sum(exp(logp))), shifted by the maximum so nothing overflows."""
    top = -np.inf
    for k in range(logp.shape[0]):
        if logp[k] > top:
            top = logp[k]
    if top == -np.inf:
        return top
    total = 0.0
    for k in range(logp.shape[0]):
        total += math.exp(logp[k] - top)
    return top + math.log(total)


@njit(**_SERIAL)
def _log_prob_full(x, means, lower, log_norm, diffs, logp):
    # OUT diffs[k] = x - mu_k ; logp[k] = log pi_k + log N(x | k)
    n_components, n_features = means.shape
    for k in range(n_components):
        for t in range(n_features):
            diffs[k, t] = x[t] - means[k, t]
        sq = 0.0
        for j in range(n_features):
            # y_j = (U^T diff)_j = sum_{t <= j} U[t, j] diff[t]
            y = 0.0
            for t in range(j + 1):
                y += lower[k, j, t] * diffs[k, t]
            sq += y * y
        logp[k] = log_norm[k] - 0.5 * sq


@njit(**_SERIAL)
def _log_prob_tied(x, center, lower, lower_means, log_norm, xc, ly, logp):
    # Tied shares U: U^T (x - mu_k) = U^T (x - c) - U^T (mu_k - c), so the
    # d^2/2 product is done once per row and each component costs O(d).
    # Centering on c (near the data) keeps both terms small: no cancellation
    # for data far from the origin.
    n_components, n_features = lower_means.shape
    for t in range(n_features):
        xc[t] = x[t] - center[t]
    for j in range(n_features):
        y = 0.0
        for t in range(j + 1):
            y += lower[j, t] * xc[t]
        ly[j] = y
    for k in range(n_components):
        sq = 0.0
        for j in range(n_features):
            y = ly[j] - lower_means[k, j]
            sq += y * y
        logp[k] = log_norm[k] - 0.5 * sq


@njit(**_SERIAL)
def _log_prob_diag(x, means, prec_chol, log_norm, diffs, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        sq = 0.0
        for t in range(n_features):
            diff = x[t] - means[k, t]
            diffs[k, t] = diff
            y = diff * prec_chol[k, t]
            sq += y * y
        logp[k] = log_norm[k] - 0.5 * sq


@njit(**_SERIAL)
def _log_prob_spherical(x, means, prec_chol, log_norm, diffs, logp):
    n_components, n_features = means.shape
    for k in range(n_components):
        sq = 0.0
        for t in range(n_features):
            diff = x[t] - means[k, t]
            diffs[k, t] = diff
            sq += diff * diff
        p = prec_chol[k]
        logp[k] = log_norm[k] - 0.5 * sq * p * p


@njit(**_SERIAL)
def _add_outer_packed(scatter, r, v):
    # scatter (packed upper triangle) += r v v^T
    n_features = v.shape[0]
    p = 0
    for t in range(n_features):
        rv = r * v[t]
        for u in range(t, n_features):
            scatter[p] += rv * v[u]
            p += 1


@njit(**_SERIAL)
def _block_range(b, block_rows, n_samples):
    start = b * block_rows
    return start, min(start + block_rows, n_samples)


# --------------------------------------------------------------------------
# E-step fused with the sufficient statistics
#
# IN   X (n, d) float32/float64, any row stride the caller chose (C order)
# IN   sample_weight (n,) float64, or shape (0,) for unit weights
# IN   parameters as prepared by fastgmm._sources
# OUT  part_nk (W, K), part_sums (W, K, d), part_scatter (W, K|1, *), part_ll (W,)
#      row b of each holds block b's sums: nk = sum w r, sums = sum w r (x - c_k),
#      scatter = sum w r (x - c_k)(x - c_k)^T (or its diagonal / trace),
#      ll = sum w log p(x).  Rows with zero weight contribute nothing.


@njit(**_PARALLEL)
def _accumulate_full(
    X, sample_weight, means, lower, log_norm, block_rows,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    weighted = sample_weight.shape[0] > 0
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        diffs = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        ll = 0.0
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            w = sample_weight[i] if weighted else 1.0
            if w == 0.0:
                continue
            _log_prob_full(X[i], means, lower, log_norm, diffs, logp)
            lse = _logsumexp(logp)
            ll += w * lse
            for k in range(n_components):
                r = w * math.exp(logp[k] - lse)
                if r == 0.0:
                    continue
                nk[k] += r
                for t in range(n_features):
                    sums[k, t] += r * diffs[k, t]
                _add_outer_packed(scatter[k], r, diffs[k])
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_tied(
    X, sample_weight, center, lower, lower_means, log_norm, block_rows,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    # Every component is shifted by the same c, so sum_k r_k (x-c)(x-c)^T is
    # one outer product per row, weighted by w (the r_k add up to one).
    n_samples, n_features = X.shape
    n_components = lower_means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    weighted = sample_weight.shape[0] > 0
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b, 0]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xc = np.empty(n_features)
        ly = np.empty(n_features)
        logp = np.empty(n_components)
        ll = 0.0
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            w = sample_weight[i] if weighted else 1.0
            if w == 0.0:
                continue
            _log_prob_tied(X[i], center, lower, lower_means, log_norm, xc, ly, logp)
            lse = _logsumexp(logp)
            ll += w * lse
            for k in range(n_components):
                r = w * math.exp(logp[k] - lse)
                if r == 0.0:
                    continue
                nk[k] += r
                for t in range(n_features):
                    sums[k, t] += r * xc[t]
            _add_outer_packed(scatter, w, xc)
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_diag(
    X, sample_weight, means, prec_chol, log_norm, block_rows,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    weighted = sample_weight.shape[0] > 0
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        diffs = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        ll = 0.0
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            w = sample_weight[i] if weighted else 1.0
            if w == 0.0:
                continue
            _log_prob_diag(X[i], means, prec_chol, log_norm, diffs, logp)
            lse = _logsumexp(logp)
            ll += w * lse
            for k in range(n_components):
                r = w * math.exp(logp[k] - lse)
                if r == 0.0:
                    continue
                nk[k] += r
                for t in range(n_features):
                    rd = r * diffs[k, t]
                    sums[k, t] += rd
                    scatter[k, t] += rd * diffs[k, t]
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_spherical(
    X, sample_weight, means, prec_chol, log_norm, block_rows,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    weighted = sample_weight.shape[0] > 0
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        diffs = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        ll = 0.0
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            w = sample_weight[i] if weighted else 1.0
            if w == 0.0:
                continue
            _log_prob_spherical(X[i], means, prec_chol, log_norm, diffs, logp)
            lse = _logsumexp(logp)
            ll += w * lse
            for k in range(n_components):
                r = w * math.exp(logp[k] - lse)
                if r == 0.0:
                    continue
                nk[k] += r
                sq = 0.0
                for t in range(n_features):
                    rd = r * diffs[k, t]
                    sums[k, t] += rd
                    sq += rd * diffs[k, t]
                scatter[k, 0] += sq
        part_ll[b] = ll


# --------------------------------------------------------------------------
# Statistics of given responsibilities (initialisation: no E-step)
#
# IN   resp (n, K) float64, the responsibilities of the rows of X
# IN   shifts (K, d) float64, c_k
# IN   kind: 0 full -> scatter (W, K, P); 2 diag -> (W, K, d);
#            3 spherical -> (W, K, 1);
#            1 tied -> (W, 1, P): sum w (x - c)(x - c)^T over every row, with
#            one shift c = shifts[0] for all components.  This equals
#            sum_k sum w r (x - c)(x - c)^T when each row's r add up to one,
#            and reproduces scikit-learn's tied initialisation (raw moments of
#            all rows) when they do not (k-means++, random_from_data).


@njit(**_PARALLEL)
def _accumulate_resp(
    X, sample_weight, resp, shifts, kind, block_rows,
    part_nk, part_sums, part_scatter,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = shifts.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    weighted = sample_weight.shape[0] > 0
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        diff = np.empty(n_features)
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            w = sample_weight[i] if weighted else 1.0
            if kind == 1 and w != 0.0:
                for t in range(n_features):
                    diff[t] = X[i, t] - shifts[0, t]
                _add_outer_packed(scatter[0], w, diff)
            for k in range(n_components):
                r = w * resp[i, k]
                if r == 0.0:
                    continue
                nk[k] += r
                for t in range(n_features):
                    diff[t] = X[i, t] - shifts[k, t]
                    sums[k, t] += r * diff[t]
                if kind == 0:
                    _add_outer_packed(scatter[k], r, diff)
                elif kind == 2:
                    for t in range(n_features):
                        scatter[k, t] += r * diff[t] * diff[t]
                elif kind == 3:
                    sq = 0.0
                    for t in range(n_features):
                        sq += diff[t] * diff[t]
                    scatter[k, 0] += r * sq


# --------------------------------------------------------------------------
# Scoring: accumulation off, per-row outputs
#
# OUT  out_lse (n,) log p(x); out_labels (n,) argmax_k log p(x, k);
#      out_resp (n, K) responsibilities.  Pass shape (0,) / (0, K) arrays for
#      the outputs not wanted.


@njit(**_SERIAL)
def _write_row(i, logp, out_lse, out_labels, out_resp):
    if out_labels.shape[0] > 0:
        best = 0
        for k in range(1, logp.shape[0]):
            if logp[k] > logp[best]:
                best = k
        out_labels[i] = best
    if out_lse.shape[0] > 0 or out_resp.shape[0] > 0:
        lse = _logsumexp(logp)
        if out_lse.shape[0] > 0:
            out_lse[i] = lse
        if out_resp.shape[0] > 0:
            for k in range(logp.shape[0]):
                out_resp[i, k] = math.exp(logp[k] - lse)


@njit(**_PARALLEL)
def _score_full(X, means, lower, log_norm, block_rows, out_lse, out_labels, out_resp):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        diffs = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            _log_prob_full(X[i], means, lower, log_norm, diffs, logp)
            _write_row(i, logp, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_tied(
    X, center, lower, lower_means, log_norm, block_rows, out_lse, out_labels, out_resp
):
    n_samples, n_features = X.shape
    n_components = lower_means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        xc = np.empty(n_features)
        ly = np.empty(n_features)
        logp = np.empty(n_components)
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            _log_prob_tied(X[i], center, lower, lower_means, log_norm, xc, ly, logp)
            _write_row(i, logp, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_diag(X, means, prec_chol, log_norm, block_rows, out_lse, out_labels, out_resp):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        diffs = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            _log_prob_diag(X[i], means, prec_chol, log_norm, diffs, logp)
            _write_row(i, logp, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_spherical(
    X, means, prec_chol, log_norm, block_rows, out_lse, out_labels, out_resp
):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        diffs = np.empty((n_components, n_features))
        logp = np.empty(n_components)
        start, stop = _block_range(b, block_rows, n_samples)
        for i in range(start, stop):
            _log_prob_spherical(X[i], means, prec_chol, log_norm, diffs, logp)
            _write_row(i, logp, out_lse, out_labels, out_resp)


ACCUMULATE = {
    "full": _accumulate_full,
    "tied": _accumulate_tied,
    "diag": _accumulate_diag,
    "spherical": _accumulate_spherical,
}
SCORE = {
    "full": _score_full,
    "tied": _score_tied,
    "diag": _score_diag,
    "spherical": _score_spherical,
}
RESP_KIND = {"full": 0, "tied": 1, "diag": 2, "spherical": 3}
accumulate_resp = _accumulate_resp


# --------------------------------------------------------------------------
# Threads


def max_threads():
    """The most threads the kernels can use in this process."""
    return numba.config.NUMBA_NUM_THREADS


# The workqueue layer aborts the process when two Python threads launch
# parallel kernels at once; tbb and omp do not.  Until the layer is known (it
# is chosen at the first parallel launch), and whenever it is workqueue,
# launches are serialised by this lock instead of crashing.
_launch_lock = threading.RLock()
_layer_is_threadsafe = False


@contextmanager
def threads(n_threads=None):
    """Run kernels with ``n_threads`` threads (None: all), restored on exit.

    Numba's thread count is local to the calling Python thread, so concurrent
    fits with different ``n_threads`` do not disturb each other.
    """
    global _layer_is_threadsafe
    previous = numba.get_num_threads()
    if n_threads is not None:
        numba.set_num_threads(min(int(n_threads), max_threads()))
    try:
        if _layer_is_threadsafe:
            yield
        else:
            with _launch_lock:
                yield
                try:
                    _layer_is_threadsafe = numba.threading_layer() in ("tbb", "omp")
                except ValueError:  # no parallel kernel launched yet
                    pass
    finally:
        numba.set_num_threads(previous)


def threading_layer():
    """The Numba threading layer in use, or None before the first launch."""
    try:
        return numba.threading_layer()
    except ValueError:
        return None
