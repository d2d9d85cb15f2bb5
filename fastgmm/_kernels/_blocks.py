"""Register blocks: the 4 x 4 (and 2 x 2) feature blocks of the full and
tied kernels, whose sixteen sums stay in registers.

Full and tied work on the features in blocks of four: a tile has ``d4`` rows
(d rounded up to a multiple of 4; 2 for full with d <= 2, which has its own
two-feature loops), the parameters are zero-padded to ``d4`` by the caller,
and the padded rows of the tile stay zero.  Each pass over a tile then does
16 FMAs per point for 4 loads and at most 4 stores.  Full and tied add into a
block's padded accumulators nk4 (K,), sums4 (K, d4) and full (K | 1, d4, d4),
packed once per block (``_pack``); diag and spherical add straight into the
block's partial statistics.
"""

from numba import njit

from ._vector import _HELPER, _zero_of, sixteen_vector_registers

# A 4 x 4 block of scatter sums keeps 16 accumulators, 8 offsets and the
# weight live: in registers with AVX-512's 32, spilled with AVX2's 16, where
# two 4 x 2 halves (8 accumulators) ran 23-25% faster (full 1M x 16 x 16 and
# 200k x 64 x 32 compiled for haswell) and were 8-15% slower with AVX-512;
# the diagonal block's 14 sums in two passes (9 and 5) made the haswell
# 1M x 16 x 16 another 10% faster (no gain, or a 1-3% loss, elsewhere).
# A compile-time constant: Numba folds the branch away.
_HALF_BLOCKS = sixteen_vector_registers()


@njit(**_HELPER)
def _log_prob_small(xt, means, lower, log_norm, logp):
    # OUT logp[k, i] = log_norm[k] - |L_k (x_i - means[k])|^2 / 2 for d4 <= 4,
    # with L_k given row by row in lower[k] (d4 * d4,): the whole product in
    # registers, one pass straight into the log-probabilities.
    d4, tile = xt.shape
    for k in range(means.shape[0]):
        mean = means[k]
        low = lower[k]
        ln = log_norm[k]
        out = logp[k]
        if d4 == 2:  # full with d <= 2
            m0 = mean[0]
            m1 = mean[1]
            l00 = low[0]
            l10 = low[2]
            l11 = low[3]
            for i in range(tile):
                v0 = xt[0, i] - m0
                v1 = xt[1, i] - m1
                y0 = l00 * v0
                y1 = l10 * v0 + l11 * v1
                out[i] = ln - 0.5 * (y0 * y0 + y1 * y1)
            continue
        m0 = mean[0]
        m1 = mean[1]
        m2 = mean[2]
        m3 = mean[3]
        l00 = low[0]
        l10 = low[4]
        l11 = low[5]
        l20 = low[8]
        l21 = low[9]
        l22 = low[10]
        l30 = low[12]
        l31 = low[13]
        l32 = low[14]
        l33 = low[15]
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


@njit(**_HELPER)
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


@njit(**_HELPER)
def _lower_rows(xt, shift, lower, jb, y, row):
    # OUT y[row:row+4] = lower[jb:jb+4] @ (xt - shift): the column blocks
    # tb <= jb of a lower triangular (d4, d4) matrix, 4 x 4 at a time.
    # (Padded features have zero rows and columns in lower.)
    tile = xt.shape[1]
    _lower_diagonal(xt, shift, lower, jb, y, row)
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


@njit(**_HELPER)
def _lower_diagonal(xt, shift, lower, jb, y, row):
    # OUT y[row:row+4] = lower[jb:jb+4, jb:jb+4] @ (xt - shift)[jb:jb+4]: the
    # diagonal block, lower triangular, its 10 products (_lower_rows adds
    # the blocks left of it; with at most four features it is all of L).
    tile = xt.shape[1]
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


@njit(**_HELPER)
def _add_scatter_blocks(xt, r, shift, sums, full):
    # sums (d4,) += sum_i r_i (x_i - c); full (d4, d4) += sum_i r_i (x_i - c)(x_i - c)^T,
    # upper blocks only (the lower triangle of diagonal blocks is left as is);
    # d4 a multiple of 4.
    d4 = xt.shape[0]
    for tb in range(0, d4, 4):
        _add_diagonal_block(xt, r, shift, tb, sums, full)
        for ub in range(tb + 4, d4, 4):
            _add_scatter_block(xt, r, shift, tb, ub, full)


@njit(**_HELPER)
def _add_diagonal_block(xt, r, shift, tb, sums, full):
    # sums[tb:tb+4] and the upper triangle of full[tb:tb+4, tb:tb+4]
    if _HALF_BLOCKS:  # its 14 sums in two passes, 9 and 5
        _add_diagonal_rows01(xt, r, shift, tb, sums, full)
        _add_diagonal_rows23(xt, r, shift, tb, sums, full)
        return
    tile = xt.shape[1]
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


@njit(**_HELPER)
def _add_diagonal_rows01(xt, r, shift, tb, sums, full):
    # rows tb, tb + 1 of the diagonal block tb (and their sums), for 16
    # vector registers
    c0 = shift[tb]
    c1 = shift[tb + 1]
    c2 = shift[tb + 2]
    c3 = shift[tb + 3]
    a0 = a1 = s00 = s01 = s02 = s03 = s11 = s12 = s13 = _zero_of(xt)
    for i in range(xt.shape[1]):
        e0 = xt[tb, i] - c0
        e1 = xt[tb + 1, i] - c1
        e2 = xt[tb + 2, i] - c2
        e3 = xt[tb + 3, i] - c3
        q0 = r[i] * e0
        q1 = r[i] * e1
        a0 += q0
        a1 += q1
        s00 += q0 * e0
        s01 += q0 * e1
        s02 += q0 * e2
        s03 += q0 * e3
        s11 += q1 * e1
        s12 += q1 * e2
        s13 += q1 * e3
    sums[tb] += a0
    sums[tb + 1] += a1
    full[tb, tb] += s00
    full[tb, tb + 1] += s01
    full[tb, tb + 2] += s02
    full[tb, tb + 3] += s03
    full[tb + 1, tb + 1] += s11
    full[tb + 1, tb + 2] += s12
    full[tb + 1, tb + 3] += s13


@njit(**_HELPER)
def _add_diagonal_rows23(xt, r, shift, tb, sums, full):
    # rows tb + 2, tb + 3 of the diagonal block tb (and their sums)
    c2 = shift[tb + 2]
    c3 = shift[tb + 3]
    a2 = a3 = s22 = s23 = s33 = _zero_of(xt)
    for i in range(xt.shape[1]):
        e2 = xt[tb + 2, i] - c2
        e3 = xt[tb + 3, i] - c3
        q2 = r[i] * e2
        q3 = r[i] * e3
        a2 += q2
        a3 += q3
        s22 += q2 * e2
        s23 += q2 * e3
        s33 += q3 * e3
    sums[tb + 2] += a2
    sums[tb + 3] += a3
    full[tb + 2, tb + 2] += s22
    full[tb + 2, tb + 3] += s23
    full[tb + 3, tb + 3] += s33


@njit(**_HELPER)
def _add_scatter2(xt, r, shift, sums, full):
    # _add_scatter_blocks for a tile of two features (k-means with d <= 2)
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


@njit(**_HELPER)
def _add_scatter_block(xt, r, shift, tb, ub, full):
    # full[tb:tb+4, ub:ub+4] += sum_i r_i (x_i - c)[tb:tb+4] (x_i - c)[ub:ub+4]^T
    if _HALF_BLOCKS:
        _add_scatter_half(xt, r, shift, tb, ub, full)
        _add_scatter_half(xt, r, shift, tb, ub + 2, full)
        return
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


@njit(**_HELPER)
def _add_scatter_half(xt, r, shift, tb, ub, full):
    # full[tb:tb+4, ub:ub+2] += sum_i r_i (x_i - c)[tb:tb+4] (x_i - c)[ub:ub+2]^T:
    # half of _add_scatter_block, for 16 vector registers
    tile = xt.shape[1]
    c0 = shift[tb]
    c1 = shift[tb + 1]
    c2 = shift[tb + 2]
    c3 = shift[tb + 3]
    u0 = shift[ub]
    u1 = shift[ub + 1]
    s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = _zero_of(xt)
    for i in range(tile):
        ri = r[i]
        q0 = ri * (xt[tb, i] - c0)
        q1 = ri * (xt[tb + 1, i] - c1)
        q2 = ri * (xt[tb + 2, i] - c2)
        q3 = ri * (xt[tb + 3, i] - c3)
        e0 = xt[ub, i] - u0
        e1 = xt[ub + 1, i] - u1
        s00 += q0 * e0
        s01 += q0 * e1
        s10 += q1 * e0
        s11 += q1 * e1
        s20 += q2 * e0
        s21 += q2 * e1
        s30 += q3 * e0
        s31 += q3 * e1
    full[tb, ub] += s00
    full[tb, ub + 1] += s01
    full[tb + 1, ub] += s10
    full[tb + 1, ub + 1] += s11
    full[tb + 2, ub] += s20
    full[tb + 2, ub + 1] += s21
    full[tb + 3, ub] += s30
    full[tb + 3, ub + 1] += s31


@njit(**_HELPER)
def _add_sums(xt, r, shift, sums):
    # sums (d,) += sum_i r_i (x_i - c)
    for t in range(sums.shape[0]):
        c = shift[t]
        total = _zero_of(xt)
        for i in range(xt.shape[1]):
            total += r[i] * (xt[t, i] - c)
        sums[t] += total


@njit(**_HELPER)
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
