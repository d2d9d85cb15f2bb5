"""Numba kernels: the only module that imports numba.

Arrays and scalars in, arrays out.  Two jobs, one kernel per covariance type
for each:

* ``_accumulate_<type>``: one fused pass of the E-step and the sufficient
  statistics.  Rows are cut into blocks of ``block_rows``; block ``b`` writes
  its partial statistics into ``part_*[b]`` and the caller adds them up in
  block order.  Which thread runs which block never changes a bit of the
  result.  Within a block, rows go a tile at a time through scratch
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

Precision follows the input, read in place.  Distances (``y`` and ``|y|^2``)
and the moment products are computed in the input's dtype: float32 input
runs twice as many points per vector instruction.  Log-probabilities,
exp/log, responsibilities and ``N_k`` are float64 always, and every tile's
moment sums are added into float64 accumulators.
"""

import math

import numpy as np
from numba import njit, prange
from numba.extending import overload
from numba.np.numpy_support import as_dtype

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


def _zero_of(a):
    """0 in ``a``'s dtype: sums over a tile's points run in the tile's
    precision (a float64 literal would widen them)."""
    return a.dtype.type(0)


@overload(_zero_of)
def _zero_of_jit(a):
    scalar = as_dtype(a.dtype).type

    def impl(a):
        return scalar(0)

    return impl


def _flush_below(a):
    """Responsibilities below this are dropped from ``a``'s moment sums."""
    return 0.0


@overload(_flush_below)
def _flush_below_jit(a):
    # float32: r < 2^-64 is no part of any sum a float32 result can show (it
    # is 2^-40 of float32's resolution), but r (x - c) (x - c) would reach
    # float32's subnormal range (below 1.2e-38), where every operation costs
    # ~100 cycles: far-off components made a pass 2x slower.  float64 keeps
    # every r the exp gives (its floor is e^-600, see _exp_shifted).
    tiny = 2.0**-64 if as_dtype(a.dtype) == np.float32 else 0.0

    def impl(a):
        return tiny

    return impl


_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: n * _LN2_HI is exact for |n| < 2^21
_LN2_LO = 1.9082149292705877e-10  # ln 2 - _LN2_HI


@njit(cache=NUMBA_CACHE, nogil=True, fastmath={"contract"})
def _exp_shifted(x, shift, bits, total):
    # x[i] <- exp(x[i] - shift[i]) for arguments <= 0, exactly 0 at or below
    # _LOG_FLOOR; total[i] += x[i].  (-inf - finite = -inf, floored to 0.)
    # exp(u) = 2^n exp(r) with n = round(u / ln 2), |r| <= ln 2 / 2, exp(r) by
    # its Taylor series to degree 13 (truncation < 4e-18, so <= 1 ulp: checked
    # against NumPy in the tests), and 2^n written into the exponent bits of
    # an int64 that is read back as float64.  Unlike libm's exp (a scalar
    # call) this vectorises: ~4x faster, and exp was the largest cost of a
    # pass for small d.  No reassociation here: it would undo the two-step
    # (Cody-Waite) reduction that keeps r exact.
    scale = bits.view(np.float64)
    for i in range(x.shape[0]):
        u = x[i] - shift[i]
        v = max(u, -700.0)
        n = math.floor(v * _LOG2E + 0.5)
        r = (v - n * _LN2_HI) - n * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        bits[i] = (np.int64(n) + 1023) << 52
        x[i] = p if u > _LOG_FLOOR else 0.0
    for i in range(x.shape[0]):
        e = x[i] * scale[i]
        x[i] = e
        total[i] += e


_SQRT2 = 1.4142135623730951
_MANTISSA = (1 << 52) - 1
_EXPONENT_ONE = 1023 << 52
# The float64 with bits _TWO52_BITS | j is 2^52 + j: integer to float with
# no conversion instruction (int64 -> float64 does not vectorise here).
_TWO52_BITS = 0x4330000000000000
_TWO52_PLUS_BIAS = 2.0**52 + 1023.0


# error_model="numpy": Python's model puts a zero check before the division,
# which stops vectorisation (m + 1 >= 2 here).
@njit(cache=NUMBA_CACHE, nogil=True, fastmath={"contract"}, error_model="numpy")
def _add_log(x, out, bits, ebits):
    # out[i] += log(x[i]) where x[i] > 0 (normal numbers; else out[i] is
    # left alone).  x = 2^e m with m in [1, 2) read off the bits, m halved
    # (e + 1) when above sqrt 2, then log m = 2 atanh(s) with
    # s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^23 (truncation
    # below 1e-19).  Vectorises like _exp_shifted; libm's log, a scalar call
    # per point, took 2.6x as long.
    xb = x.view(np.int64)
    mant = bits.view(np.float64)
    expo = ebits.view(np.float64)
    for i in range(x.shape[0]):
        bits[i] = (xb[i] & _MANTISSA) | _EXPONENT_ONE
        ebits[i] = (xb[i] >> 52) | _TWO52_BITS
    for i in range(x.shape[0]):
        m = mant[i]
        e = expo[i] - _TWO52_PLUS_BIAS
        high = m > _SQRT2
        m = 0.5 * m if high else m
        e = e + 1.0 if high else e
        s = (m - 1.0) / (m + 1.0)
        z = s * s
        p = 1.0 / 23.0
        p = p * z + 1.0 / 21.0
        p = p * z + 1.0 / 19.0
        p = p * z + 1.0 / 17.0
        p = p * z + 1.0 / 15.0
        p = p * z + 1.0 / 13.0
        p = p * z + 1.0 / 11.0
        p = p * z + 1.0 / 9.0
        p = p * z + 1.0 / 7.0
        p = p * z + 1.0 / 5.0
        p = p * z + 1.0 / 3.0
        log_m = 2.0 * s + (2.0 * s * z) * p
        v = e * _LN2_HI + (log_m + e * _LN2_LO)
        out[i] = out[i] + v if x[i] > 0.0 else out[i]


# --------------------------------------------------------------------------
# Tiles
#
# A block's rows are processed a tile at a time.  A tile is copied transposed,
# features x points, into scratch of the input's dtype: every inner loop runs over
# contiguous points, which LLVM vectorises.  A ragged last tile is padded with
# copies of its first row at weight zero; a zero weight contributes exactly
# nothing, so padding never changes a statistic.
#
# Full and tied work on the features in blocks of four: the scratch has d4
# (d rounded up to a multiple of 4; 2 for full with d <= 2, which has its own
# two-feature loops) rows, the parameters are zero-padded to d4 by the
# caller, and the padded rows of the tile stay zero.  Each pass over
# a tile then does 16 FMAs per point for 4 loads and at most 4 stores, and its
# sixteen sums live in registers.


@njit(**_SERIAL)
def _load_tile(X, sample_weight, start, stop, xt, wt):
    # OUT xt[:d] (d, T) = X[start:stop].T padded; wt (T,) weights, 0 for padding
    n_features = X.shape[1]
    tile = xt.shape[1]
    m = stop - start
    if n_features <= 8:  # a feature at a time: 2-4x faster for small d
        for t in range(n_features):
            for i in range(m):
                xt[t, i] = X[start + i, t]
            for i in range(m, tile):
                xt[t, i] = X[start, t]
    else:  # a row at a time: 1.5x faster at d = 16 (a small share of a pass there)
        for i in range(m):
            for t in range(n_features):
                xt[t, i] = X[start + i, t]
        for i in range(m, tile):
            for t in range(n_features):
                xt[t, i] = X[start, t]
    if sample_weight.shape[0] > 0:
        for i in range(m):
            wt[i] = sample_weight[start + i]
    else:
        for i in range(m):
            wt[i] = 1.0
    for i in range(m, tile):
        wt[i] = 0.0


@njit(**_SERIAL)
def _tile_normalize(logp, lse, total, bits):
    # IN   logp (K, T) log pi_k + log N(x_i | k)
    # OUT  logp[k, i] = exp(logp[k, i] - max_k logp[:, i]), lse[i] = log p(x_i),
    #      total[i] = sum_k logp[k, i]: then r = logp / total, with one exp per
    #      (point, component).
    # SCRATCH bits (2 T,) int64
    n_components, tile = logp.shape
    for i in range(tile):
        lse[i] = logp[0, i]
        total[i] = 0.0
    for k in range(1, n_components):
        for i in range(tile):
            lse[i] = max(lse[i], logp[k, i])
    for k in range(n_components):
        _exp_shifted(logp[k], lse, bits[:tile], total)
    _add_log(total, lse, bits[:tile], bits[tile:])


@njit(**_SERIAL)
def _tile_responsibilities(logp, wt, lse, total, bits):
    # IN/OUT logp (K, T): joint log-probabilities -> exp(logp - max), and
    # total (T,) -> w / sum_k: the weighted responsibilities are
    # logp[k, i] * total[i], formed by the statistics (``_scaled_row``).
    # Returns sum w lse.
    _tile_normalize(logp, lse, total, bits)
    ll = 0.0
    for i in range(logp.shape[1]):
        w = wt[i]
        if w != 0.0:
            ll += w * lse[i]
            total[i] = w / total[i] if total[i] > 0.0 else 0.0
        else:
            total[i] = 0.0
    return ll


@njit(**_SERIAL)
def _log_prob_small(xt, mean, lower, ln, out):
    # OUT out[i] = ln - |L (x_i - mean)|^2 / 2 for d4 <= 4: the whole product
    # in registers, one pass straight into the log-probabilities.
    d4, tile = xt.shape
    if d4 == 2:  # full with d <= 2
        m0 = mean[0]
        m1 = mean[1]
        l00 = lower[0, 0]
        l10 = lower[1, 0]
        l11 = lower[1, 1]
        for i in range(tile):
            v0 = xt[0, i] - m0
            v1 = xt[1, i] - m1
            y0 = l00 * v0
            y1 = l10 * v0 + l11 * v1
            out[i] = ln - 0.5 * (y0 * y0 + y1 * y1)
    else:
        m0 = mean[0]
        m1 = mean[1]
        m2 = mean[2]
        m3 = mean[3]
        l00 = lower[0, 0]
        l10 = lower[1, 0]
        l11 = lower[1, 1]
        l20 = lower[2, 0]
        l21 = lower[2, 1]
        l22 = lower[2, 2]
        l30 = lower[3, 0]
        l31 = lower[3, 1]
        l32 = lower[3, 2]
        l33 = lower[3, 3]
        for i in range(tile):
            v0 = xt[0, i] - m0
            v1 = xt[1, i] - m1
            v2 = xt[2, i] - m2
            v3 = xt[3, i] - m3
            y0 = l00 * v0
            y1 = l10 * v0 + l11 * v1
            y2 = l20 * v0 + l21 * v1 + l22 * v2
            y3 = l30 * v0 + l31 * v1 + l32 * v2 + l33 * v3
            out[i] = ln - 0.5 * (y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3)


@njit(**_SERIAL)
def _mahalanobis_sq(xt, mean, lower, ybuf, sq):
    # OUT sq[i] = |L (x_i - mean)|^2 for L (d4, d4) lower triangular, padded,
    # d4 >= 8.  Since U^T = L, this is the |y|^2 of the E-step.
    d4, tile = xt.shape
    for i in range(tile):
        sq[i] = 0.0
    for jb in range(0, d4, 4):
        _lower_rows(xt, mean, lower, jb, ybuf, 0)
        for i in range(tile):
            y0 = ybuf[0, i]
            y1 = ybuf[1, i]
            y2 = ybuf[2, i]
            y3 = ybuf[3, i]
            sq[i] += y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3


@njit(**_SERIAL)
def _lower_rows(xt, shift, lower, jb, y, row):
    # OUT y[row:row+4] = lower[jb:jb+4] @ (xt - shift): the column blocks
    # tb <= jb of a lower triangular (d4, d4) matrix, 4 x 4 at a time.
    # (Padded features have zero rows and columns in lower.)
    tile = xt.shape[1]
    # The diagonal block is lower triangular: its 10 products start the rows.
    m0 = shift[jb]
    m1 = shift[jb + 1]
    m2 = shift[jb + 2]
    m3 = shift[jb + 3]
    l00 = lower[jb, jb]
    l10 = lower[jb + 1, jb]
    l11 = lower[jb + 1, jb + 1]
    l20 = lower[jb + 2, jb]
    l21 = lower[jb + 2, jb + 1]
    l22 = lower[jb + 2, jb + 2]
    l30 = lower[jb + 3, jb]
    l31 = lower[jb + 3, jb + 1]
    l32 = lower[jb + 3, jb + 2]
    l33 = lower[jb + 3, jb + 3]
    for i in range(tile):
        v0 = xt[jb, i] - m0
        v1 = xt[jb + 1, i] - m1
        v2 = xt[jb + 2, i] - m2
        v3 = xt[jb + 3, i] - m3
        y[row, i] = l00 * v0
        y[row + 1, i] = l10 * v0 + l11 * v1
        y[row + 2, i] = l20 * v0 + l21 * v1 + l22 * v2
        y[row + 3, i] = l30 * v0 + l31 * v1 + l32 * v2 + l33 * v3
    for tb in range(0, jb, 4):
        m0 = shift[tb]
        m1 = shift[tb + 1]
        m2 = shift[tb + 2]
        m3 = shift[tb + 3]
        l00 = lower[jb, tb]
        l01 = lower[jb, tb + 1]
        l02 = lower[jb, tb + 2]
        l03 = lower[jb, tb + 3]
        l10 = lower[jb + 1, tb]
        l11 = lower[jb + 1, tb + 1]
        l12 = lower[jb + 1, tb + 2]
        l13 = lower[jb + 1, tb + 3]
        l20 = lower[jb + 2, tb]
        l21 = lower[jb + 2, tb + 1]
        l22 = lower[jb + 2, tb + 2]
        l23 = lower[jb + 2, tb + 3]
        l30 = lower[jb + 3, tb]
        l31 = lower[jb + 3, tb + 1]
        l32 = lower[jb + 3, tb + 2]
        l33 = lower[jb + 3, tb + 3]
        for i in range(tile):
            v0 = xt[tb, i] - m0
            v1 = xt[tb + 1, i] - m1
            v2 = xt[tb + 2, i] - m2
            v3 = xt[tb + 3, i] - m3
            y[row, i] += l00 * v0 + l01 * v1 + l02 * v2 + l03 * v3
            y[row + 1, i] += l10 * v0 + l11 * v1 + l12 * v2 + l13 * v3
            y[row + 2, i] += l20 * v0 + l21 * v1 + l22 * v2 + l23 * v3
            y[row + 3, i] += l30 * v0 + l31 * v1 + l32 * v2 + l33 * v3


@njit(**_SERIAL)
def _add_scatter(xt, r, shift, sums, full):
    # sums (d4,) += sum_i r_i (x_i - c); full (d4, d4) += sum_i r_i (x_i - c)(x_i - c)^T,
    # upper blocks only (the lower triangle of diagonal blocks is left as is).
    d4, tile = xt.shape
    if d4 == 2:
        _add_scatter2(xt, r, shift, sums, full)
        return
    for tb in range(0, d4, 4):
        c0 = shift[tb]
        c1 = shift[tb + 1]
        c2 = shift[tb + 2]
        c3 = shift[tb + 3]
        a0 = a1 = a2 = a3 = _zero_of(xt)
        s00 = s01 = s02 = s03 = s11 = s12 = s13 = s22 = s23 = s33 = _zero_of(xt)
        for i in range(tile):
            e0 = xt[tb, i] - c0
            e1 = xt[tb + 1, i] - c1
            e2 = xt[tb + 2, i] - c2
            e3 = xt[tb + 3, i] - c3
            ri = r[i]
            q0 = ri * e0
            q1 = ri * e1
            q2 = ri * e2
            q3 = ri * e3
            a0 += q0
            a1 += q1
            a2 += q2
            a3 += q3
            s00 += q0 * e0
            s01 += q0 * e1
            s02 += q0 * e2
            s03 += q0 * e3
            s11 += q1 * e1
            s12 += q1 * e2
            s13 += q1 * e3
            s22 += q2 * e2
            s23 += q2 * e3
            s33 += q3 * e3
        sums[tb] += a0
        sums[tb + 1] += a1
        sums[tb + 2] += a2
        sums[tb + 3] += a3
        full[tb, tb] += s00
        full[tb, tb + 1] += s01
        full[tb, tb + 2] += s02
        full[tb, tb + 3] += s03
        full[tb + 1, tb + 1] += s11
        full[tb + 1, tb + 2] += s12
        full[tb + 1, tb + 3] += s13
        full[tb + 2, tb + 2] += s22
        full[tb + 2, tb + 3] += s23
        full[tb + 3, tb + 3] += s33
        for ub in range(tb + 4, d4, 4):
            _add_scatter_block(xt, r, shift, tb, ub, full)


@njit(**_SERIAL)
def _add_scatter2(xt, r, shift, sums, full):
    # _add_scatter for a tile of two features (full with d <= 2)
    c0 = shift[0]
    c1 = shift[1]
    a0 = a1 = s00 = s01 = s11 = _zero_of(xt)
    for i in range(xt.shape[1]):
        e0 = xt[0, i] - c0
        e1 = xt[1, i] - c1
        q0 = r[i] * e0
        q1 = r[i] * e1
        a0 += q0
        a1 += q1
        s00 += q0 * e0
        s01 += q0 * e1
        s11 += q1 * e1
    sums[0] += a0
    sums[1] += a1
    full[0, 0] += s00
    full[0, 1] += s01
    full[1, 1] += s11


@njit(**_SERIAL)
def _add_scatter_block(xt, r, shift, tb, ub, full):
    # full[tb:tb+4, ub:ub+4] += sum_i r_i (x_i - c)[tb:tb+4] (x_i - c)[ub:ub+4]^T
    tile = xt.shape[1]
    c0 = shift[tb]
    c1 = shift[tb + 1]
    c2 = shift[tb + 2]
    c3 = shift[tb + 3]
    u0 = shift[ub]
    u1 = shift[ub + 1]
    u2 = shift[ub + 2]
    u3 = shift[ub + 3]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = _zero_of(xt)
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = _zero_of(xt)
    for i in range(tile):
        ri = r[i]
        q0 = ri * (xt[tb, i] - c0)
        q1 = ri * (xt[tb + 1, i] - c1)
        q2 = ri * (xt[tb + 2, i] - c2)
        q3 = ri * (xt[tb + 3, i] - c3)
        e0 = xt[ub, i] - u0
        e1 = xt[ub + 1, i] - u1
        e2 = xt[ub + 2, i] - u2
        e3 = xt[ub + 3, i] - u3
        s00 += q0 * e0
        s01 += q0 * e1
        s02 += q0 * e2
        s03 += q0 * e3
        s10 += q1 * e0
        s11 += q1 * e1
        s12 += q1 * e2
        s13 += q1 * e3
        s20 += q2 * e0
        s21 += q2 * e1
        s22 += q2 * e2
        s23 += q2 * e3
        s30 += q3 * e0
        s31 += q3 * e1
        s32 += q3 * e2
        s33 += q3 * e3
    full[tb, ub] += s00
    full[tb, ub + 1] += s01
    full[tb, ub + 2] += s02
    full[tb, ub + 3] += s03
    full[tb + 1, ub] += s10
    full[tb + 1, ub + 1] += s11
    full[tb + 1, ub + 2] += s12
    full[tb + 1, ub + 3] += s13
    full[tb + 2, ub] += s20
    full[tb + 2, ub + 1] += s21
    full[tb + 2, ub + 2] += s22
    full[tb + 2, ub + 3] += s23
    full[tb + 3, ub] += s30
    full[tb + 3, ub + 1] += s31
    full[tb + 3, ub + 2] += s32
    full[tb + 3, ub + 3] += s33


@njit(**_SERIAL)
def _add_sums(xt, r, shift, sums):
    # sums (d,) += sum_i r_i (x_i - c)
    for t in range(sums.shape[0]):
        c = shift[t]
        total = _zero_of(xt)
        for i in range(xt.shape[1]):
            total += r[i] * (xt[t, i] - c)
        sums[t] += total


@njit(**_SERIAL)
def _pack(full, sums4, nk4, nk, sums, scatter):
    # A block's padded accumulators into its packed partial statistics.
    n_components = nk.shape[0]
    n_features = sums.shape[1]
    for k in range(n_components):
        nk[k] = nk4[k]
        for t in range(n_features):
            sums[k, t] = sums4[k, t]
    for k in range(full.shape[0]):
        p = 0
        for t in range(n_features):
            for u in range(t, n_features):
                scatter[k, p] = full[k, t, u]
                p += 1


# --------------------------------------------------------------------------
# Log-probabilities of a tile, per covariance type
#
# OUT logp (K, T): log pi_k + log N(x_i | k)


@njit(**_SERIAL)
def _tile_log_prob_full(xt, means, lower, log_norm, ybuf, sq, logp):
    tile = xt.shape[1]
    for k in range(means.shape[0]):
        if xt.shape[0] <= 4:
            _log_prob_small(xt, means[k], lower[k], log_norm[k], logp[k])
            continue
        _mahalanobis_sq(xt, means[k], lower[k], ybuf, sq)
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln - 0.5 * sq[i]


@njit(**_SERIAL)
def _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, y, sq, logp):
    # U^T (x - mu_k) = U^T (x - c) - U^T (mu_k - c): the triangular product is
    # done once per tile, each component then costs O(d).  Centring on c (the
    # mixture mean) keeps both terms small for data far from the origin.
    n_components, d4 = lower_means.shape
    tile = xt.shape[1]
    for jb in range(0, d4, 4):
        _lower_rows(xt, center, lower, jb, y, jb)
    for k in range(n_components):
        for i in range(tile):
            sq[i] = 0.0
        for j in range(d4):
            m = lower_means[k, j]
            for i in range(tile):
                v = y[j, i] - m
                sq[i] += v * v
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln - 0.5 * sq[i]


@njit(**_SERIAL)
def _tile_log_prob_diag(xt, means, prec_chol, log_norm, sq, logp):
    n_components, n_features = means.shape
    tile = xt.shape[1]
    for k in range(n_components):
        for i in range(tile):
            sq[i] = 0.0
        for t in range(n_features):
            mu = means[k, t]
            p = prec_chol[k, t]
            for i in range(tile):
                v = (xt[t, i] - mu) * p
                sq[i] += v * v
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln - 0.5 * sq[i]


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
# Statistics of a tile for responsibilities r[k, i] * scale[i] (K, T), weights
# included
#
# Full and tied add into a block's padded accumulators nk4 (K,), sums4
# (K, d4) and full (K | 1, d4, d4), packed once per block (``_pack``); diag
# and spherical add straight into the block's partial statistics.
#
# r is float64; nk is summed from it.  The moment sums take a copy of one
# component's r in the tile's dtype (``rt``): for float32 input the products
# and the sums over a tile's points (at most a tile of terms, split over the
# vector lanes) are float32, and every tile's sums are added into the
# block's float64 accumulators.


@njit(**_SERIAL)
def _scaled_row(r, k, scale, rt):
    # rt = r[k] * scale, in rt's dtype (flushed, see _flush_below); returns
    # the float64 sum of r[k] * scale, the tile's share of N_k.
    tiny = _flush_below(rt)
    total = 0.0
    for i in range(rt.shape[0]):
        v = r[k, i] * scale[i]
        total += v
        rt[i] = v if v >= tiny else 0.0
    return total


@njit(**_SERIAL)
def _tile_stats_full(xt, r, scale, shifts, nk4, sums4, full, rt):
    for k in range(shifts.shape[0]):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk4[k] += total
        _add_scatter(xt, rt, shifts[k], sums4[k], full[k])


@njit(**_SERIAL)
def _tile_stats_tied(xt, r, scale, wt, center, nk4, sums4, full, spare, rt):
    # All components share the shift c, so sum_k r_k (x-c)(x-c)^T is one
    # outer product per row weighted by w (the r_k of a row add up to one).
    for k in range(r.shape[0]):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk4[k] += total
        _add_sums(xt, rt, center, sums4[k])
    for i in range(rt.shape[0]):
        rt[i] = wt[i]
    _add_scatter(xt, rt, center, spare, full[0])


@njit(**_SERIAL)
def _tile_stats_diag(xt, r, scale, shifts, nk, sums, scatter, rt):
    n_components, n_features = shifts.shape
    tile = xt.shape[1]
    for k in range(n_components):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk[k] += total
        for t in range(n_features):
            c = shifts[k, t]
            s1 = s2 = _zero_of(xt)
            for i in range(tile):
                v = xt[t, i] - c
                rv = rt[i] * v
                s1 += rv
                s2 += rv * v
            sums[k, t] += s1
            scatter[k, t] += s2


@njit(**_SERIAL)
def _tile_stats_spherical(xt, r, scale, shifts, nk, sums, scatter, rt):
    n_components, n_features = shifts.shape
    tile = xt.shape[1]
    for k in range(n_components):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk[k] += total
        s2 = 0.0
        for t in range(n_features):
            c = shifts[k, t]
            s1 = q = _zero_of(xt)
            for i in range(tile):
                v = xt[t, i] - c
                rv = rt[i] * v
                s1 += rv
                q += rv * v
            sums[k, t] += s1
            s2 += q
        scatter[k, 0] += s2


# --------------------------------------------------------------------------
# E-step fused with the sufficient statistics
#
# IN   X (n, d) float32/float64, C order, read in place
# IN   sample_weight (n,) float64, or shape (0,) for unit weights
# IN   parameters as prepared by fastgmm._sources.kernel_parameters (full and
#      tied: zero-padded to d4 features)
# IN   block_rows, tile
# OUT  part_nk (W, K), part_sums (W, K, d), part_scatter (W, K|1, *), part_ll (W,)
#      row b holds block b's sums: nk = sum w r, sums = sum w r (x - c_k),
#      scatter = sum w r (x - c_k)(x - c_k)^T (packed / summed over k for
#      tied / diagonal / trace), ll = sum w log p(x).


@njit(**_PARALLEL)
def _accumulate_full(
    X, sample_weight, means, lower, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples = X.shape[0]
    n_components, d4 = means.shape
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        xt = np.zeros((d4, tile), X.dtype)
        wt = np.empty(tile)
        ybuf = np.empty((4, tile), X.dtype)
        sq = np.empty(tile, X.dtype)
        rt = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        total = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        logp = np.empty((n_components, tile))
        nk4 = np.zeros(n_components)
        sums4 = np.zeros((n_components, d4))
        full = np.zeros((n_components, d4, d4))
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_full(xt, means, lower, log_norm, ybuf, sq, logp)
            ll += _tile_responsibilities(logp, wt, lse, total, bits)
            _tile_stats_full(xt, logp, total, means, nk4, sums4, full, rt)
        _pack(full, sums4, nk4, part_nk[b], part_sums[b], part_scatter[b])
        part_ll[b] = ll


@njit(**_PARALLEL)
def _accumulate_tied(
    X, sample_weight, center, lower, lower_means, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll,
):  # fmt: skip
    n_samples = X.shape[0]
    n_components, d4 = lower_means.shape
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        xt = np.zeros((d4, tile), X.dtype)
        wt = np.empty(tile)
        y = np.empty((d4, tile), X.dtype)
        sq = np.empty(tile, X.dtype)
        rt = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        total = np.empty(tile)
        logp = np.empty((n_components, tile))
        nk4 = np.zeros(n_components)
        sums4 = np.zeros((n_components, d4))
        full = np.zeros((1, d4, d4))
        spare = np.zeros(d4)
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, y, sq, logp)
            ll += _tile_responsibilities(logp, wt, lse, total, bits)
            _tile_stats_tied(xt, logp, total, wt, center, nk4, sums4, full, spare, rt)
        _pack(full, sums4, nk4, part_nk[b], part_sums[b], part_scatter[b])
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
        xt = np.empty((n_features, tile), X.dtype)
        wt = np.empty(tile)
        sq = np.empty(tile, X.dtype)
        rt = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        total = np.empty(tile)
        logp = np.empty((n_components, tile))
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_diag(xt, means, prec_chol, log_norm, sq, logp)
            ll += _tile_responsibilities(logp, wt, lse, total, bits)
            _tile_stats_diag(xt, logp, total, means, nk, sums, scatter, rt)
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
        xt = np.empty((n_features, tile), X.dtype)
        wt = np.empty(tile)
        sq = np.empty(tile, X.dtype)
        rt = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        total = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        logp = np.empty((n_components, tile))
        ll = 0.0
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            _tile_log_prob_spherical(xt, means, prec_chol, log_norm, sq, logp)
            ll += _tile_responsibilities(logp, wt, lse, total, bits)
            _tile_stats_spherical(xt, logp, total, means, nk, sums, scatter, rt)
        part_ll[b] = ll


# --------------------------------------------------------------------------
# Statistics of given responsibilities (initialisation: no E-step)
#
# IN   resp (n, K) float64, the responsibilities of the rows of X
# IN   shifts (K, d4) float64, c_k, zero-padded to d4 = d rounded up to 4
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
    n_components, d4 = shifts.shape
    n_blocks = (n_samples + block_rows - 1) // block_rows
    for b in prange(n_blocks):
        nk, sums, scatter = part_nk[b], part_sums[b], part_scatter[b]
        nk[:] = 0.0
        sums[:] = 0.0
        scatter[:] = 0.0
        xt = np.zeros((d4, tile), X.dtype)
        wt = np.empty(tile)
        rt = np.empty(tile, X.dtype)
        ones = np.ones(tile)
        r = np.empty((n_components, tile))
        nk4 = np.zeros(n_components)
        sums4 = np.zeros((n_components, d4))
        full = np.zeros((n_components if kind == 0 else 1, d4, d4))
        spare = np.zeros(d4)
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            _load_tile(X, sample_weight, start, min(start + tile, stop), xt, wt)
            for i in range(tile):
                for k in range(n_components):
                    r[k, i] = wt[i] * resp[start + i, k] if wt[i] != 0.0 else 0.0
            if kind == 0:
                _tile_stats_full(xt, r, ones, shifts, nk4, sums4, full, rt)
            elif kind == 1:
                _tile_stats_tied(xt, r, ones, wt, shifts[0], nk4, sums4, full, spare, rt)
            elif kind == 2:
                _tile_stats_diag(
                    xt[:n_features], r, ones, shifts[:, :n_features], nk, sums, scatter, rt
                )
            else:
                _tile_stats_spherical(
                    xt[:n_features], r, ones, shifts[:, :n_features], nk, sums, scatter, rt
                )
        if kind <= 1:
            _pack(full, sums4, nk4, nk, sums, scatter)


# --------------------------------------------------------------------------
# Scoring: accumulation off, per-row outputs
#
# OUT  out_logp (n, K) log p(x, k) = log pi_k + log N(x | k); out_lse (n,)
#      log p(x); out_labels (n,) argmax_k log p(x, k); out_resp (n, K)
#      responsibilities.  Pass shape (0, K) / (0,) arrays for the outputs not
#      wanted.


@njit(**_SERIAL)
def _write_tile(start, stop, logp, lse, total, bits, out_logp, out_lse, out_labels, out_resp):
    n_components = logp.shape[0]
    if out_logp.shape[0] > 0:
        for i in range(stop - start):
            for k in range(n_components):
                out_logp[start + i, k] = logp[k, i]
    if out_labels.shape[0] > 0:
        for i in range(stop - start):
            best = 0
            for k in range(1, n_components):
                if logp[k, i] > logp[best, i]:
                    best = k
            out_labels[start + i] = best
    if out_lse.shape[0] > 0 or out_resp.shape[0] > 0:
        _tile_normalize(logp, lse, total, bits)
        if out_lse.shape[0] > 0:
            for i in range(stop - start):
                out_lse[start + i] = lse[i]
        if out_resp.shape[0] > 0:
            for i in range(stop - start):
                scale = 1.0 / total[i] if total[i] > 0.0 else 0.0
                for k in range(n_components):
                    out_resp[start + i, k] = logp[k, i] * scale


@njit(**_PARALLEL)
def _score_full(
    X, means, lower, log_norm, block_rows, tile, out_logp, out_lse, out_labels, out_resp
):
    n_samples = X.shape[0]
    n_components, d4 = means.shape
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.zeros((d4, tile), X.dtype)
        wt = np.empty(tile)
        ybuf = np.empty((4, tile), X.dtype)
        sq = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        total = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        logp = np.empty((n_components, tile))
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_full(xt, means, lower, log_norm, ybuf, sq, logp)
            _write_tile(start, end, logp, lse, total, bits, out_logp, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_tied(
    X, center, lower, lower_means, log_norm, block_rows, tile,
    out_logp, out_lse, out_labels, out_resp,
):  # fmt: skip
    n_samples = X.shape[0]
    n_components, d4 = lower_means.shape
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.zeros((d4, tile), X.dtype)
        wt = np.empty(tile)
        y = np.empty((d4, tile), X.dtype)
        sq = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        total = np.empty(tile)
        logp = np.empty((n_components, tile))
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, y, sq, logp)
            _write_tile(start, end, logp, lse, total, bits, out_logp, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_diag(
    X, means, prec_chol, log_norm, block_rows, tile, out_logp, out_lse, out_labels, out_resp
):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.empty((n_features, tile), X.dtype)
        wt = np.empty(tile)
        sq = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        total = np.empty(tile)
        logp = np.empty((n_components, tile))
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_diag(xt, means, prec_chol, log_norm, sq, logp)
            _write_tile(start, end, logp, lse, total, bits, out_logp, out_lse, out_labels, out_resp)


@njit(**_PARALLEL)
def _score_spherical(
    X, means, prec_chol, log_norm, block_rows, tile, out_logp, out_lse, out_labels, out_resp
):
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    n_blocks = (n_samples + block_rows - 1) // block_rows
    no_weights = np.empty(0)
    for b in prange(n_blocks):
        xt = np.empty((n_features, tile), X.dtype)
        wt = np.empty(tile)
        sq = np.empty(tile, X.dtype)
        lse = np.empty(tile)
        total = np.empty(tile)
        bits = np.empty(2 * tile, dtype=np.int64)
        logp = np.empty((n_components, tile))
        stop = min((b + 1) * block_rows, n_samples)
        for start in range(b * block_rows, stop, tile):
            end = min(start + tile, stop)
            _load_tile(X, no_weights, start, end, xt, wt)
            _tile_log_prob_spherical(xt, means, prec_chol, log_norm, sq, logp)
            _write_tile(start, end, logp, lse, total, bits, out_logp, out_lse, out_labels, out_resp)


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
