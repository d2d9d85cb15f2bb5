"""Numba kernels: the only module that imports numba.

Arrays and scalars in, arrays out.  Two jobs, one kernel per covariance type
for each:

* ``_accumulate_<type>``: one fused pass of the E-step and the sufficient
  statistics.  Rows are cut into blocks of ``block_rows``; block ``b`` writes
  its partial statistics into ``part_*[b]`` and the caller adds them up in
  block order.  Which thread runs which block never changes a bit of the
  result.  Within a block, rows go a tile at a time through float64 scratch
  laid out features x points (see ``_load_tile``).
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

# Reassociation lets LLVM vectorise the reductions over a tile's points.  The
# summation order is then fixed by the compiled code and the block grid, not
# by the threads, so results stay bitwise reproducible.  No 'nnan'/'ninf':
# log(0) = -inf is a legitimate value here.
_FASTMATH = {"reassoc", "contract", "nsz"}
_SERIAL = dict(cache=NUMBA_CACHE, nogil=True, fastmath=_FASTMATH)
_PARALLEL = dict(cache=NUMBA_CACHE, nogil=True, fastmath=_FASTMATH, parallel=True)


# exp() of anything below this is treated as exactly 0.  e^-600 ~ 3e-261 is
# invisible next to the 1 that the largest term of a log-sum-exp contributes,
# and next to 10 eps that guards every component's weight, so no result
# changes; but exp() landing in (or products of such numbers reaching) the
# subnormal range costs ~100 cycles a time, which made well-separated data
# (where most responsibilities are e^-1000) several times slower to fit.
_LOG_FLOOR = -600.0


# --------------------------------------------------------------------------
# Tiles
#
# A block's rows are processed a tile at a time.  A tile is copied transposed,
# features x points, into float64 scratch: every inner loop then runs over
# contiguous points, which LLVM vectorises.  A ragged last tile is padded with
# copies of its first row at weight zero; a zero weight contributes exactly
# nothing, so padding never changes a statistic.


@njit(**_SERIAL)
def _load_tile(X, sample_weight, start, stop, xt, wt):
    # OUT xt (d, T) = X[start:stop].T padded; wt (T,) weights, 0 for padding
    n_features = X.shape[1]
    tile = xt.shape[1]
    m = stop - start
    weighted = sample_weight.shape[0] > 0
    for i in range(tile):
        row = start + i if i < m else start
        for t in range(n_features):
            xt[t, i] = X[row, t]
        if i >= m:
            wt[i] = 0.0
        elif weighted:
            wt[i] = sample_weight[row]
        else:
            wt[i] = 1.0


@njit(**_SERIAL)
def _tile_logsumexp(logp, lse):
    # OUT lse[i] = log sum_k exp(logp[k, i]), shifted by the maximum
    n_components, tile = logp.shape
    for i in range(tile):
        lse[i] = logp[0, i]
    for k in range(1, n_components):
        for i in range(tile):
            lse[i] = max(lse[i], logp[k, i])
    for i in range(tile):
        top = lse[i]
        if top == -np.inf:
            continue
        total = 0.0
        for k in range(n_components):
            delta = logp[k, i] - top
            if delta > _LOG_FLOOR:
                total += math.exp(delta)
        lse[i] = top + math.log(total)


@njit(**_SERIAL)
def _tile_responsibilities(logp, lse, wt):
    # IN/OUT logp (K, T) -> w r, in place; returns sum_i w lse
    n_components, tile = logp.shape
    ll = 0.0
    for i in range(tile):
        w = wt[i]
        if w == 0.0:
            for k in range(n_components):
                logp[k, i] = 0.0
        else:
            ll += w * lse[i]
            for k in range(n_components):
                delta = logp[k, i] - lse[i]
                logp[k, i] = w * math.exp(delta) if delta > _LOG_FLOOR else 0.0
    return ll


@njit(**_SERIAL)
def _triangular_sweep(lower, v, y):
    # OUT y = lower @ v for lower triangular (d, d) and v (d, T).  Column by
    # column: consecutive updates go to different rows of y, so they do not
    # wait on each other, and four rows share each load of v.
    n_features, tile = v.shape
    for t in range(n_features):
        diag = lower[t, t]
        for i in range(tile):
            y[t, i] = diag * v[t, i]
    for t in range(n_features):
        j = t + 1
        while j + 3 < n_features:
            l0 = lower[j, t]
            l1 = lower[j + 1, t]
            l2 = lower[j + 2, t]
            l3 = lower[j + 3, t]
            for i in range(tile):
                vi = v[t, i]
                y[j, i] += l0 * vi
                y[j + 1, i] += l1 * vi
                y[j + 2, i] += l2 * vi
                y[j + 3, i] += l3 * vi
            j += 4
        while j < n_features:
            lj = lower[j, t]
            for i in range(tile):
                y[j, i] += lj * v[t, i]
            j += 1


@njit(**_SERIAL)
def _center(xt, shift, diff):
    # OUT diff (d, T) = xt - shift[:, None]
    n_features, tile = xt.shape
    for t in range(n_features):
        c = shift[t]
        for i in range(tile):
            diff[t, i] = xt[t, i] - c


@njit(**_SERIAL)
def _scale(r, diff, rdiff):
    # OUT rdiff = r * diff
    n_features, tile = diff.shape
    for t in range(n_features):
        for i in range(tile):
            rdiff[t, i] = r[i] * diff[t, i]


@njit(**_SERIAL)
def _add_weighted_sums(r, diff, rdiff, sums):
    # OUT rdiff = r * diff ; sums += sum_i r diff
    n_features, tile = diff.shape
    for t in range(n_features):
        total = 0.0
        for i in range(tile):
            v = r[i] * diff[t, i]
            rdiff[t, i] = v
            total += v
        sums[t] += total


@njit(**_SERIAL)
def _add_scatter_packed(rdiff, diff, scatter):
    # scatter (packed upper triangle) += rdiff @ diff.T, four columns at a time
    # (each load of rdiff feeds four independent dot products).
    n_features, tile = diff.shape
    p = 0
    for t in range(n_features):
        u = t
        while u + 3 < n_features:
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for i in range(tile):
                v = rdiff[t, i]
                s0 += v * diff[u, i]
                s1 += v * diff[u + 1, i]
                s2 += v * diff[u + 2, i]
                s3 += v * diff[u + 3, i]
            scatter[p] += s0
            scatter[p + 1] += s1
            scatter[p + 2] += s2
            scatter[p + 3] += s3
            p += 4
            u += 4
        while u < n_features:
            total = 0.0
            for i in range(tile):
                total += rdiff[t, i] * diff[u, i]
            scatter[p] += total
            p += 1
            u += 1


# --------------------------------------------------------------------------
# Log-probabilities of a tile, per covariance type
#
# OUT logp (K, T): log pi_k + log N(x_i | k)


@njit(**_SERIAL)
def _tile_log_prob_full(xt, means, lower, log_norm, diff, y, logp):
    n_components, n_features = means.shape
    tile = xt.shape[1]
    for k in range(n_components):
        _center(xt, means[k], diff)
        _triangular_sweep(lower[k], diff, y)
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln
        for j in range(n_features):
            for i in range(tile):
                logp[k, i] -= 0.5 * y[j, i] * y[j, i]


@njit(**_SERIAL)
def _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, diff, y, logp):
    # U^T (x - mu_k) = U^T (x - c) - U^T (mu_k - c): the triangular product is
    # done once per tile, each component then costs O(d).  Centring on c (the
    # mixture mean) keeps both terms small for data far from the origin.
    n_components, n_features = lower_means.shape
    tile = xt.shape[1]
    _center(xt, center, diff)
    _triangular_sweep(lower, diff, y)
    for k in range(n_components):
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln
        for j in range(n_features):
            m = lower_means[k, j]
            for i in range(tile):
                v = y[j, i] - m
                logp[k, i] -= 0.5 * v * v


@njit(**_SERIAL)
def _tile_log_prob_diag(xt, means, prec_chol, log_norm, logp):
    n_components, n_features = means.shape
    tile = xt.shape[1]
    for k in range(n_components):
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln
        for t in range(n_features):
            mu = means[k, t]
            p = prec_chol[k, t]
            for i in range(tile):
                v = (xt[t, i] - mu) * p
                logp[k, i] -= 0.5 * v * v


@njit(**_SERIAL)
def _tile_log_prob_spherical(xt, means, prec_chol, log_norm, sq, logp):
    n_components, n_features = means.shape
    tile = xt.shape[1]
    for k in range(n_components):
        for i in range(tile):
            sq[i] = 0.0
        for t in range(n_features):
            mu = means[k, t]
            for i in range(tile):
                v = xt[t, i] - mu
                sq[i] += v * v
        ln = log_norm[k]
        half_prec = 0.5 * prec_chol[k] * prec_chol[k]
        for i in range(tile):
            logp[k, i] = ln - half_prec * sq[i]


# --------------------------------------------------------------------------
# Statistics of a tile for given responsibilities r (K, T), weights included
#
# IN/OUT nk (K,), sums (K, d), scatter (K | 1, *) of one block


@njit(**_SERIAL)
def _tile_stats_full(xt, r, shifts, diff, rdiff, nk, sums, scatter):
    for k in range(shifts.shape[0]):
        total = 0.0
        for i in range(r.shape[1]):
            total += r[k, i]
        if total == 0.0:
            continue
        nk[k] += total
        _center(xt, shifts[k], diff)
        _add_weighted_sums(r[k], diff, rdiff, sums[k])
        _add_scatter_packed(rdiff, diff, scatter[k])


@njit(**_SERIAL)
def _tile_stats_tied(xt, r, wt, center, diff, rdiff, nk, sums, scatter):
    # All components share the shift c, so sum_k r_k (x-c)(x-c)^T is one
    # outer product per row weighted by w (the r_k of a row add up to one).
    _center(xt, center, diff)
    for k in range(r.shape[0]):
        total = 0.0
        for i in range(r.shape[1]):
            total += r[k, i]
        if total == 0.0:
            continue
        nk[k] += total
        _add_weighted_sums(r[k], diff, rdiff, sums[k])
    _scale(wt, diff, rdiff)
    _add_scatter_packed(rdiff, diff, scatter[0])


@njit(**_SERIAL)
def _tile_stats_diag(xt, r, shifts, nk, sums, scatter):
    n_components, n_features = shifts.shape
    tile = xt.shape[1]
    for k in range(n_components):
        total = 0.0
        for i in range(tile):
            total += r[k, i]
        if total == 0.0:
            continue
        nk[k] += total
        for t in range(n_features):
            c = shifts[k, t]
            s1 = 0.0
            s2 = 0.0
            for i in range(tile):
                v = xt[t, i] - c
                rv = r[k, i] * v
                s1 += rv
                s2 += rv * v
            sums[k, t] += s1
            scatter[k, t] += s2


@njit(**_SERIAL)
def _tile_stats_spherical(xt, r, shifts, nk, sums, scatter):
    n_components, n_features = shifts.shape
    tile = xt.shape[1]
    for k in range(n_components):
        total = 0.0
        for i in range(tile):
            total += r[k, i]
        if total == 0.0:
            continue
        nk[k] += total
        s2 = 0.0
        for t in range(n_features):
            c = shifts[k, t]
            s1 = 0.0
            for i in range(tile):
                v = xt[t, i] - c
                rv = r[k, i] * v
                s1 += rv
                s2 += rv * v
            sums[k, t] += s1
        scatter[k, 0] += s2


# --------------------------------------------------------------------------
# E-step fused with the sufficient statistics
#
# IN   X (n, d) float32/float64, C order, read in place
# IN   sample_weight (n,) float64, or shape (0,) for unit weights
# IN   parameters as prepared by fastgmm._sources.kernel_parameters
# IN   block_rows (a multiple of tile), tile
# OUT  part_nk (W, K), part_sums (W, K, d), part_scatter (W, K|1, *), part_ll (W,)
#      row b holds block b's sums: nk = sum w r, sums = sum w r (x - c_k),
#      scatter = sum w r (x - c_k)(x - c_k)^T (packed / summed over k for
#      tied / diagonal / trace), ll = sum w log p(x).


@njit(**_PARALLEL)
def _accumulate_full(
    X, sample_weight, means, lower, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        diff = np.empty((n_features, tile))
        y = np.empty((n_features, tile))
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_full(xt, means, lower, log_norm, diff, y, logp)
            _tile_logsumexp(logp, lse)
            ll += _tile_responsibilities(logp, lse, wt)
            _tile_stats_full(xt, logp, means, diff, y, nk, sums, scatter)
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_tied(
    X, sample_weight, center, lower, lower_means, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = lower_means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        diff = np.empty((n_features, tile))
        y = np.empty((n_features, tile))
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, diff, y, logp)
            _tile_logsumexp(logp, lse)
            ll += _tile_responsibilities(logp, lse, wt)
            _tile_stats_tied(xt, logp, wt, center, diff, y, nk, sums, scatter)
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_diag(
    X, sample_weight, means, prec_chol, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_diag(xt, means, prec_chol, log_norm, logp)
            _tile_logsumexp(logp, lse)
            ll += _tile_responsibilities(logp, lse, wt)
            _tile_stats_diag(xt, logp, means, nk, sums, scatter)
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_spherical(
    X, sample_weight, means, prec_chol, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        sq = np.empty(tile)
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_spherical(xt, means, prec_chol, log_norm, sq, logp)
            _tile_logsumexp(logp, lse)
            ll += _tile_responsibilities(logp, lse, wt)
            _tile_stats_spherical(xt, logp, means, nk, sums, scatter)
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
    X, sample_weight, resp, shifts, kind, block_rows, tile,
    part_nk, part_sums, part_scatter,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = shifts.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        diff = np.empty((n_features, tile))
        rdiff = np.empty((n_features, tile))
        r = np.empty((n_components, tile))
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            for i in range(tile):
                row = start + i
                for k in range(n_components):
                    r[k, i] = wt[i] * resp[row, k] if wt[i] != 0.0 else 0.0
            if kind == 0:
                _tile_stats_full(xt, r, shifts, diff, rdiff, nk, sums, scatter)
            elif kind == 1:
                _tile_stats_tied(xt, r, wt, shifts[0], diff, rdiff, nk, sums, scatter)
            elif kind == 2:
                _tile_stats_diag(xt, r, shifts, nk, sums, scatter)
            else:
                _tile_stats_spherical(xt, r, shifts, nk, sums, scatter)


# --------------------------------------------------------------------------
# Scoring: accumulation off, per-row outputs
#
# OUT  out_lse (n,) log p(x); out_labels (n,) argmax_k log p(x, k);
#      out_resp (n, K) responsibilities.  Pass shape (0,) / (0, K) arrays for
#      the outputs not wanted.


@njit(**_SERIAL)
def _write_tile(start, stop, logp, lse, out_lse, out_labels, out_resp):
    n_components = logp.shape[0]
    if out_labels.shape[0] > 0:
        for i in range(stop - start):
            best = 0
            for k in range(1, n_components):
                if logp[k, i] > logp[best, i]:
                    best = k
            out_labels[start + i] = best
    if out_lse.shape[0] > 0 or out_resp.shape[0] > 0:
        _tile_logsumexp(logp, lse)
        if out_lse.shape[0] > 0:
            for i in range(stop - start):
                out_lse[start + i] = lse[i]
        if out_resp.shape[0] > 0:
            for i in range(stop - start):
                for k in range(n_components):
                    delta = logp[k, i] - lse[i]
                    out_resp[start + i, k] = math.exp(delta) if delta > _LOG_FLOOR else 0.0


@njit(**_PARALLEL)
def _score_full(X, means, lower, log_norm, block_rows, tile, out_lse, out_labels, out_resp):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        diff = np.empty((n_features, tile))
        y = np.empty((n_features, tile))
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_full(xt, means, lower, log_norm, diff, y, logp)
            _write_tile(start, end, logp, lse, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_tied(
    X, center, lower, lower_means, log_norm, block_rows, tile,
    out_lse, out_labels, out_resp,
):  # fmt: skip
    n_samples, n_features = X.shape
    n_components = lower_means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        diff = np.empty((n_features, tile))
        y = np.empty((n_features, tile))
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, diff, y, logp)
            _write_tile(start, end, logp, lse, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_diag(X, means, prec_chol, log_norm, block_rows, tile, out_lse, out_labels, out_resp):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_diag(xt, means, prec_chol, log_norm, logp)
            _write_tile(start, end, logp, lse, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_spherical(
    X, means, prec_chol, log_norm, block_rows, tile, out_lse, out_labels, out_resp
):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.empty((n_features, tile))
        wt = np.empty(tile)
        sq = np.empty(tile)
        logp = np.empty((n_components, tile))
        lse = np.empty(tile)
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_spherical(xt, means, prec_chol, log_norm, sq, logp)
            _write_tile(start, end, logp, lse, out_lse, out_labels, out_resp)


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
