"""Tiles: a block's rows a tile at a time, transposed (features x points),
with the log-sum-exp, the responsibilities and the per-row outputs.

A tile is copied transposed into scratch of the input's dtype, so every
inner loop runs over contiguous points, which LLVM vectorises.  A ragged
last tile is padded with copies of its first row at weight zero; a zero
weight contributes exactly nothing, so padding never changes a statistic.
Full and tied tiles have ``d4`` rows (see ``_blocks``); the padded rows stay
zero.

The statistics of a tile are for responsibilities ``r[k, i] * scale[i]``
(K, T), weights included.  ``r`` is float64 and ``nk`` is summed from it; the
moment sums take a copy of one component's ``r`` in the tile's dtype
(``_scaled_row``): for float32 input the products and the sums over a tile's
points (at most a tile of terms, split over the vector lanes) are float32,
and every tile's sums are added into the block's float64 accumulators.
"""

from numba import njit

from ._vector import _HELPER, _add_log, _exp_shifted, _flush_below, _log


@njit(**_HELPER)
def _load_tile(X, sample_weight, start, stop, xt, wt):
    # OUT xt[:d] (d, T) = X[start:stop].T padded; wt (T,) weights, 0 for padding
    # The rows as views indexed from 0: an index ``start + i`` could be
    # negative as far as LLVM knows, and the wrap-around of a negative index
    # made every vector load a gather.
    n_features = X.shape[1]
    tile = xt.shape[1]
    m = stop - start
    rows = X[start:stop]
    if n_features <= 8:  # a feature at a time: 2-4x faster for small d
        for t in range(n_features):
            for i in range(m):
                xt[t, i] = rows[i, t]
            for i in range(m, tile):
                xt[t, i] = rows[0, t]
    else:  # a row at a time: 1.5x faster at d = 16 (a small share of a pass there)
        for i in range(m):
            for t in range(n_features):
                xt[t, i] = rows[i, t]
        for i in range(m, tile):
            for t in range(n_features):
                xt[t, i] = rows[0, t]
    if sample_weight.shape[0] > 0:
        given = sample_weight[start:stop]
        for i in range(m):
            wt[i] = given[i]
    else:
        for i in range(m):
            wt[i] = 1.0
    for i in range(m, tile):
        wt[i] = 0.0


@njit(**_HELPER)
def _tile_exps(logp, lse, total):
    # IN   logp (K, T) log pi_k + log N(x_i | k)
    # OUT  logp[k, i] = exp(logp[k, i] - max_k logp[:, i]), lse[i] = that
    #      max, total[i] = sum_k logp[k, i]: then r = logp / total and
    #      log p(x_i) = lse + log(total), with one exp per (point, component).
    n_components, tile = logp.shape
    for i in range(tile):
        lse[i] = logp[0, i]
        total[i] = 0.0
    for k in range(1, n_components):
        for i in range(tile):
            lse[i] = logp[k, i] if logp[k, i] > lse[i] else lse[i]
    for k in range(n_components):
        _exp_shifted(logp[k], lse, total)


# error_model="numpy": the division below is guarded; Python's zero check
# before it would stop the loop vectorising.
@njit(**_HELPER, error_model="numpy")
def _tile_responsibilities(logp, wt, lse, total):
    # IN/OUT logp (K, T): joint log-probabilities -> exp(logp - max), and
    # total (T,) -> w / sum_k: the weighted responsibilities are
    # logp[k, i] * total[i], formed by the statistics (``_scaled_row``).
    # SCRATCH lse (T,).  Returns sum w log p(x), its log taken in the same
    # loop as the weights' scale.
    _tile_exps(logp, lse, total)
    ll = 0.0
    for i in range(logp.shape[1]):
        t = total[i]
        w = wt[i]
        positive = t > 0.0
        log_p = lse[i] + _log(t) if positive else lse[i]
        ll += w * log_p if w != 0.0 else 0.0
        total[i] = w / t if w != 0.0 and positive else 0.0
    return ll


@njit(**_HELPER)
def _given_tile(resp, start, wt, r, scale):
    # The tile's rows with given responsibilities (no E-step):
    # OUT r (K, T) = resp[start + i, k], 0 where the weight is 0 (the padding,
    #     whose rows are not read); scale (T,) = the weights.
    n_components, tile = r.shape
    for i in range(tile):
        w = wt[i]
        scale[i] = w
        for k in range(n_components):
            r[k, i] = resp[start + i, k] if w != 0.0 else 0.0


@njit(**_HELPER)
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


@njit(**_HELPER)
def _write_tile(start, stop, logp, lse, total, out_logp, out_lse, out_labels, out_resp):
    # (the outputs' rows as views indexed from 0, as in _load_tile)
    n_components = logp.shape[0]
    m = stop - start
    if out_logp.shape[0] > 0:
        rows = out_logp[start:stop]
        for i in range(m):
            for k in range(n_components):
                rows[i, k] = logp[k, i]
    if out_labels.shape[0] > 0:
        labels = out_labels[start:stop]
        for i in range(m):
            best = 0
            for k in range(1, n_components):
                if logp[k, i] > logp[best, i]:
                    best = k
            labels[i] = best
    if out_lse.shape[0] > 0 or out_resp.shape[0] > 0:
        _tile_exps(logp, lse, total)
        _add_log(total, lse)  # lse[i] = log p(x_i)
        if out_lse.shape[0] > 0:
            row_lse = out_lse[start:stop]
            for i in range(m):
                row_lse[i] = lse[i]
        if out_resp.shape[0] > 0:
            rows = out_resp[start:stop]
            for i in range(m):
                scale = 1.0 / total[i] if total[i] > 0.0 else 0.0
                for k in range(n_components):
                    rows[i, k] = logp[k, i] * scale
