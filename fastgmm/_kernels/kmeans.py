"""k-means: nearest centres with their statistics, Lloyd steps, and
k-means++ candidates.

Three block functions, run in parallel over blocks of rows by
``_parallel.run_blocks``, in the grid of the EM kernels (block ``b`` writes
its partial sums into slot ``b``; the caller adds them in block order), so
their results do not depend on the thread count:

* ``_nearest_block``: each row's nearest centre (squared Euclidean distance,
  ties to the lowest index), and per centre the hard-assignment statistics
  about it, ``sum w``, ``sum w (x - c)`` and, by the width of
  ``part_scatter``, nothing, the diagonal or the packed upper triangle of
  ``sum w (x - c)(x - c)^T``.  On all rows (float32 data widened a wave
  at a time) it gives the initial statistics of the ``kmeans`` start (one
  row's work is one centre's, not every component's).
* ``_lloyd_block``: the Lloyd step on the sample, held in float64 about its
  origin, transposed block by block (made once): each row's nearest centre,
  and per centre ``sum w`` and ``sum w y``.
* ``_candidates_block``: for k-means++ seeding, on the same layout, each row's
  squared distance to each candidate centre, at most its distance so far,
  and their weighted sums (the candidates' potentials), for several seeding
  runs at once.

Everything is float64, computed about ``origin`` (the sample's mean):
distances of data far from the origin keep their digits, whatever the
input's dtype, and the block functions compile once.  Centres come in shifted by
``origin``.
"""

import numpy as np
from numba import njit

from ._blocks import _add_scatter2, _add_scatter_blocks, _pack
from ._vector import _BLOCK, _HELPER, _empty64, _zeros64


@njit(**_HELPER)
def _load_shifted(X, sample_weight, origin, start, m, yt, wt):
    # OUT yt[:, :m] (d, T) = (X[start:start + m] - origin).T in float64;
    # wt[:m] the weights (1 without)
    # (views indexed from 0: see _tiles._load_tile)
    n_features = X.shape[1]
    rows = X[start : start + m]
    for i in range(m):
        for t in range(n_features):
            yt[t, i] = rows[i, t] - origin[t]
    if sample_weight.shape[0] > 0:
        given = sample_weight[start : start + m]
        for i in range(m):
            wt[i] = given[i]
    else:
        for i in range(m):
            wt[i] = 1.0


@njit(**_HELPER)
def _grouped_scatter(X, start, m, origin, centres, labels, weights, zt, wz, counts, sums4, full):
    # The packed mode's moment sums of rows start:start + m, their nearest
    # centres in labels[:m]: the rows of each centre (in row order) are
    # gathered, as x - c about origin, into a contiguous (d4, count) stretch
    # of zt, which the full kernel's register blocks then sum: one centre's
    # work per row.  (A column slice of one 2-D buffer would not vectorise.)
    n_clusters, d4 = sums4.shape  # centres may have padding rows and columns
    n_features = X.shape[1]
    rows = X[start : start + m]
    for k in range(n_clusters + 1):
        counts[k] = 0
    for j in range(m):
        if weights[j] != 0.0:
            counts[labels[j] + 1] += 1
    for k in range(n_clusters):  # counts[k]: group k's first row
        counts[k + 1] += counts[k]
    for k in range(n_clusters):  # padded features stay zero
        first, size = counts[k], counts[k + 1] - counts[k]
        for t in range(n_features, d4):
            for i in range(size):
                zt[first * d4 + t * size + i] = 0.0
    cursor = counts[:n_clusters].copy()
    for j in range(m):
        w = weights[j]
        if w == 0.0:
            continue
        k = labels[j]
        first, size = counts[k], counts[k + 1] - counts[k]
        i = cursor[k] - first
        cursor[k] += 1
        for t in range(n_features):
            zt[first * d4 + t * size + i] = (rows[j, t] - origin[t]) - centres[k, t]
        wz[first + i] = w
    no_shift = np.zeros(d4)
    for k in range(n_clusters):
        first, last = counts[k], counts[k + 1]
        if last > first:
            group = zt[first * d4 : last * d4].reshape((d4, last - first))
            if d4 == 2:
                _add_scatter2(group, wz[first:last], no_shift, sums4[k], full[k])
            else:
                _add_scatter_blocks(group, wz[first:last], no_shift, sums4[k], full[k])


@njit(**_BLOCK)
def _nearest_block(
    first, last, X, sample_weight, origin, centres, half_norms, block_rows, tile,
    part_nk, part_sums, part_scatter,
):  # fmt: skip
    # IN   X (n, d) float64; sample_weight (n,) or (0,); origin (d,); centres (K2, d4)
    #      about origin, zero-padded to an even number (the padding row's
    #      half_norm inf) and a multiple of 4 features; half_norms (K2,) =
    #      |centres|^2 / 2
    # OUT  part_nk (W, K), part_sums (W, K, d), part_scatter (W, K, P) with
    #      P = 0, d (diagonal) or d (d + 1) / 2 (packed)
    n_samples, n_features = X.shape
    n_clusters = part_nk.shape[1]
    n_padded, d_scores = centres.shape
    width = part_scatter.shape[2]
    packed = width > n_features
    d4 = 2 if n_features <= 2 else (n_features + 3) // 4 * 4
    n_full = n_clusters if packed else 0
    for b in range(first, last):
        # the tile arrays on 64-byte boundaries (see _empty64); the padded
        # features of yt stay zero
        yt = _zeros64(d_scores * tile, half_norms).reshape((d_scores, tile))
        wt = _empty64(tile, half_norms)
        s0 = _empty64(tile, half_norms)
        s1 = _empty64(tile, half_norms)
        best = _empty64(tile, half_norms)
        arg = _empty64(tile, half_norms)
        nk = np.zeros(n_clusters)
        sums = np.zeros((n_clusters, n_features))
        scatter = np.zeros((n_clusters, 0 if packed else width))
        block_labels = np.empty(block_rows if packed else 0, dtype=np.int64)
        block_weights = np.empty(block_rows if packed else 0)
        zt = np.empty(d4 * block_rows if packed else 0)
        wz = np.empty(block_rows if packed else 0)
        counts = np.empty(n_clusters + 1, dtype=np.int64)
        sums4 = np.zeros((n_full, d4))
        full = np.zeros((n_full, d4, d4))
        row0 = b * block_rows  # the block's first row
        stop = min(row0 + block_rows, n_samples)
        for start in range(row0, stop, tile):
            m = min(start + tile, stop) - start
            _load_shifted(X, sample_weight, origin, start, m, yt, wt)
            for i in range(tile):
                best[i] = -np.inf
                arg[i] = 0.0
            for k in range(0, n_padded, 2):
                _scores_pair(yt, centres, half_norms, k, s0, s1)
                _keep_best(s0, float(k), best, arg)
                _keep_best(s1, float(k + 1), best, arg)
            rows = X[start : start + m]
            for i in range(m):
                k = int(arg[i])
                w = wt[i]
                if packed:  # the grouped scatter forms the offsets
                    block_labels[start - row0 + i] = k
                    block_weights[start - row0 + i] = w
                if w == 0.0:
                    continue
                nk[k] += w
                if packed:
                    continue
                for t in range(n_features):  # the row itself: contiguous
                    v = (rows[i, t] - origin[t]) - centres[k, t]
                    sums[k, t] += w * v
                    if width > 0:
                        scatter[k, t] += w * v * v
        if packed:
            _grouped_scatter(
                X,
                row0,
                stop - row0,
                origin,
                centres,
                block_labels,
                block_weights,
                zt,
                wz,
                counts,
                sums4,
                full,
            )
            _pack(full, sums4, nk, part_nk[b], part_sums[b], part_scatter[b])
        else:
            for k in range(n_clusters):
                part_nk[b, k] = nk[k]
                for t in range(n_features):
                    part_sums[b, k, t] = sums[k, t]
                for t in range(width):
                    part_scatter[b, k, t] = scatter[k, t]


@njit(**_BLOCK)
def _candidates_block(
    first, last, Yb, sq, sample_weight, candidates, half_norms, runs, closest, dist_out, part_pot
):  # fmt: skip
    # IN   Yb (W, d4, B) the rows about their origin, block b's B rows
    #      transposed in Yb[b], zero-padded to d4 (a multiple of 4) features
    #      and whole blocks, float64; sq (W, B) their squared norms;
    #      sample_weight (n,) or (0,); candidates (C2, d4) about the origin,
    #      zero-padded, C2 = C rounded up to even, with half_norms (C2,) =
    #      |candidates|^2 / 2; candidate c of the seeding run runs[c] (C,);
    #      closest (R, n) each run's squared distance of each row to its
    #      nearest seed so far (inf before the first)
    # OUT  dist_out (C, n) = min(closest[runs[c]], |y - candidate_c|^2), or
    #      (0, n) for the potentials alone; part_pot (W, C) = block b's sum of
    #      w min(closest[runs[c]], |y - candidate_c|^2)
    # (Several runs' candidates in one pass read the rows once.)
    n_blocks, d4, block_rows = Yb.shape
    n_samples = closest.shape[1]
    n_candidates = runs.shape[0]
    keep = dist_out.shape[0] > 0
    weighted = sample_weight.shape[0] > 0
    for b in range(first, last):
        yt = Yb[b]
        norms = sq[b]
        start = b * block_rows
        m = min(start + block_rows, n_samples) - start
        s0 = _empty64(block_rows, half_norms)  # on 64-byte boundaries (see _empty64)
        s1 = _empty64(block_rows, half_norms)
        wt = np.ones(block_rows)
        if weighted:
            given = sample_weight[start : start + m]
            for i in range(m):
                wt[i] = given[i]
        for c in range(0, n_candidates, 2):
            # |y - u|^2 = |y|^2 - 2 (y.u - |u|^2 / 2), two candidates a pass
            # (the rows are about their mean; a rounding below 0 is 0)
            _scores_pair(yt, candidates, half_norms, c, s0, s1)
            for j in range(2):
                if c + j == n_candidates:
                    break
                score = s0 if j == 0 else s1
                # the block's stretch of each row: indexed from 0, so that
                # no index wraps around (that made the loops gathers)
                near = closest[runs[c + j], start : start + m]
                total = 0.0
                for i in range(m):
                    q = min(max(norms[i] - 2.0 * score[i], 0.0), near[i])
                    score[i] = q
                    total += q * wt[i]
                part_pot[b, c + j] = total
                if keep:
                    out = dist_out[c + j, start : start + m]
                    for i in range(m):
                        out[i] = score[i]


@njit(**_HELPER)
def _scores_pair(yt, centres, half_norms, k, s0, s1):
    # OUT s0, s1 (B,) = y.c - |c|^2 / 2 for centres k and k + 1, over the
    # d4 rows of yt (d4, B) four at a time: eight FMAs per two loads and
    # stores of the sums (one feature at a time, the loop waits on them)
    d4, block_rows = yt.shape
    h0 = -half_norms[k]
    h1 = -half_norms[k + 1]
    for i in range(block_rows):
        s0[i] = h0
        s1[i] = h1
    for t in range(0, d4, 4):
        a0 = centres[k, t]
        a1 = centres[k, t + 1]
        a2 = centres[k, t + 2]
        a3 = centres[k, t + 3]
        b0 = centres[k + 1, t]
        b1 = centres[k + 1, t + 1]
        b2 = centres[k + 1, t + 2]
        b3 = centres[k + 1, t + 3]
        for i in range(block_rows):
            y0 = yt[t, i]
            y1 = yt[t + 1, i]
            y2 = yt[t + 2, i]
            y3 = yt[t + 3, i]
            s0[i] += y0 * a0 + y1 * a1 + y2 * a2 + y3 * a3
            s1[i] += y0 * b0 + y1 * b1 + y2 * b2 + y3 * b3


@njit(**_HELPER)
def _keep_best(score, kf, best, arg):
    # branch-free, so that it vectorises: ties keep the lower index
    for i in range(score.shape[0]):
        better = score[i] > best[i]
        arg[i] = kf if better else arg[i]
        best[i] = score[i] if better else best[i]


@njit(**_BLOCK)
def _lloyd_block(
    first, last, Yb, Y, sq, sample_weight, centres, half_norms, labels, dists,
    part_nk, part_sums, part_inertia, part_changed,
):  # fmt: skip
    # A Lloyd step on rows given as for _candidates_block (Yb (W, d4, B) about
    # the origin, block by block transposed; sq (W, B) their squared norms),
    # and the same rows untransposed, Y (W B, d):
    # IN   centres (K2, d4) about the origin, K2 = K rounded up to even, the
    #      padding centre's half_norm inf; half_norms (K2,) = |centres|^2 / 2;
    #      sample_weight (n,) or (0,)
    # IN/OUT labels (n,) int64, the changes counted in part_changed (W,);
    # OUT  dists (n,) each row's squared distance to its centre
    #      (|y|^2 - 2 (y.c - |c|^2 / 2), at least 0); part_nk (W, K),
    #      part_sums (W, K, d) = block b's sum w and sum w y (about the
    #      origin, not the centre); part_inertia (W,) its sum w dists
    n_blocks, d4, block_rows = Yb.shape
    n_features = Y.shape[1]
    n_samples = labels.shape[0]
    n_clusters = part_nk.shape[1]
    n_padded = centres.shape[0]
    weighted = sample_weight.shape[0] > 0
    for b in range(first, last):
        yt = Yb[b]
        norms = sq[b]
        start = b * block_rows
        m = min(start + block_rows, n_samples) - start
        s0 = _empty64(block_rows, half_norms)  # on 64-byte boundaries (see _empty64)
        s1 = _empty64(block_rows, half_norms)
        best = _empty64(block_rows, half_norms)
        arg = _empty64(block_rows, half_norms)  # the centre's index, as a float: vector selects
        for i in range(block_rows):
            best[i] = -np.inf
            arg[i] = 0.0
        for k in range(0, n_padded, 2):
            _scores_pair(yt, centres, half_norms, k, s0, s1)
            _keep_best(s0, float(k), best, arg)
            _keep_best(s1, float(k + 1), best, arg)
        nk = np.zeros(n_clusters)
        sums = np.zeros((n_clusters, n_features))
        inertia = 0.0
        changed = 0
        # the block's rows as views indexed from 0 (see _tiles._load_tile)
        block_dists = dists[start : start + m]
        block_labels = labels[start : start + m]
        rows = Y[start : start + m]
        given = sample_weight[start : start + m] if weighted else sample_weight
        for i in range(m):
            k = int(arg[i])
            q = max(norms[i] - 2.0 * best[i], 0.0)
            block_dists[i] = q
            if block_labels[i] != k:
                changed += 1
                block_labels[i] = k
            w = given[i] if weighted else 1.0
            inertia += w * q
            nk[k] += w
            for t in range(n_features):  # contiguous: vector code
                sums[k, t] += w * rows[i, t]
        for k in range(n_clusters):
            part_nk[b, k] = nk[k]
            for t in range(n_features):
                part_sums[b, k, t] = sums[k, t]
        part_inertia[b] = inertia
        part_changed[b] = changed
