"""Full covariances: log-probabilities and statistics of a tile, and the
block function that fits (accumulates) and scores.

Two paths, of which a compiled kernel holds one: at most four features
(padded to ``d4`` = 2 or 4), one register block per component, with each
precision factor handed over as a row of ``d4 * d4`` (``lower`` is then
2-D); more, the 4 x 4 blocks of ``_blocks`` (``lower`` 3-D).  Numba
resolves ``lower.ndim`` when it compiles, and drops the other path (each
is a few seconds of a first fit's compile time).
"""

from numba import njit

from ._blocks import (
    _add_diagonal_block,
    _add_scatter_blocks,
    _log_prob_small,
    _mahalanobis_sq,
    _pack,
)
from ._tiles import _given_tile, _load_tile, _scaled_row, _tile_responsibilities, _write_tile
from ._vector import _BLOCK, _HELPER, _empty64, _flush_below, _zero_of, _zeros64


@njit(**_HELPER)
def _tile_log_prob_full(xt, means, lower, log_norm, ybuf, sq, logp):
    # d4 >= 8
    tile = xt.shape[1]
    for k in range(means.shape[0]):
        _mahalanobis_sq(xt, means[k], lower[k], ybuf, sq)
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln - 0.5 * sq[i]


@njit(**_HELPER)
def _scaled_scatter2(xt, r, k, scale, shift, sums, full, rt):
    # _scaled_row and the scatter sums for two features in one loop: at d <= 2
    # the scaled copy of r is as much work as the moments, and here it stays
    # in registers (full 1M x 2 x 8: 8-12% less per pass).  Returns the
    # tile's share of N_k.
    tiny = _flush_below(rt)
    c0 = shift[0]
    c1 = shift[1]
    total = 0.0
    a0 = a1 = s00 = s01 = s11 = _zero_of(xt)
    for i in range(xt.shape[1]):
        v = r[k, i] * scale[i]
        total += v
        ri = rt.dtype.type(v) if v >= tiny else _zero_of(xt)
        e0 = xt[0, i] - c0
        e1 = xt[1, i] - c1
        q0 = ri * e0
        q1 = ri * e1
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
    return total


@njit(**_HELPER)
def _tile_stats_small(xt, r, scale, shifts, nk4, sums4, full, rt):
    # d4 <= 4: the two-feature loop, or one diagonal register block
    for k in range(shifts.shape[0]):
        if xt.shape[0] == 2:
            nk4[k] += _scaled_scatter2(xt, r, k, scale, shifts[k], sums4[k], full[k], rt)
            continue
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk4[k] += total
        _add_diagonal_block(xt, rt, shifts[k], 0, sums4[k], full[k])


@njit(**_HELPER)
def _tile_stats_full(xt, r, scale, shifts, nk4, sums4, full, rt):
    # d4 >= 8
    for k in range(shifts.shape[0]):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk4[k] += total
        _add_scatter_blocks(xt, rt, shifts[k], sums4[k], full[k])


@njit(**_BLOCK)
def _full_block(
    first, last, X, sample_weight, resp, means, lower, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll, out_logp, out_lse, out_labels, out_resp,
):  # fmt: skip
    # Blocks first:last, three modes (see the package's docstring): statistics from
    # the E-step; from given responsibilities (resp has rows); per-row
    # outputs only (part_nk has no rows).
    n_samples = X.shape[0]
    n_components, d4 = means.shape
    scoring = part_nk.shape[0] == 0
    given = resp.shape[0] > 0
    n_stats = 0 if scoring else n_components
    for b in range(first, last):
        # the tile arrays on 64-byte boundaries (see _empty64)
        xt = _zeros64(d4 * tile, X).reshape((d4, tile))
        wt = _empty64(tile, log_norm)
        ybuf = _empty64(4 * tile, X).reshape((4, tile))
        sq = _empty64(tile, X)
        rt = _empty64(tile, X)
        lse = _empty64(tile, log_norm)
        total = _empty64(tile, log_norm)
        logp = _empty64(n_components * tile, log_norm).reshape((n_components, tile))
        nk4 = _zeros64(n_stats, log_norm)
        sums4 = _zeros64(n_stats * d4, log_norm).reshape((n_stats, d4))
        full = _zeros64(n_stats * d4 * d4, log_norm).reshape((n_stats, d4, d4))
        ll = 0.0
        stop = (b + 1) * block_rows if (b + 1) * block_rows < n_samples else n_samples
        for start in range(b * block_rows, stop, tile):
            end = start + tile if start + tile < stop else stop
            _load_tile(X, sample_weight, start, end, xt, wt)
            if given:
                _given_tile(resp, start, wt, logp, total)
            else:
                if lower.ndim == 2:  # d <= 4 (see the module's docstring)
                    _log_prob_small(xt, means, lower, log_norm, logp)
                else:
                    _tile_log_prob_full(xt, means, lower, log_norm, ybuf, sq, logp)
                if scoring:
                    _write_tile(
                        start, end, logp, lse, total, out_logp, out_lse, out_labels, out_resp
                    )
                    continue
                ll += _tile_responsibilities(logp, wt, lse, total)
            if lower.ndim == 2:
                _tile_stats_small(xt, logp, total, means, nk4, sums4, full, rt)
            else:
                _tile_stats_full(xt, logp, total, means, nk4, sums4, full, rt)
        if not scoring:
            _pack(full, sums4, nk4, part_nk[b], part_sums[b], part_scatter[b])
            part_ll[b] = ll
