"""Tied covariance: one shared factor; ``L^T x`` once per point, minus the
precomputed ``L^T mu_k`` per component.

As full's, two paths of which a compiled kernel holds one: at most four
features (``lower`` given as one row of 16, 1-D), one register block; more
(``lower`` (d4, d4)), the 4 x 4 blocks.  Numba resolves ``lower.ndim`` when
it compiles.
"""

from numba import njit

from ._blocks import (
    _add_diagonal_block,
    _add_scatter_blocks,
    _add_sums,
    _lower_diagonal,
    _lower_rows,
    _pack,
)
from ._tiles import _given_tile, _load_tile, _scaled_row, _tile_responsibilities, _write_tile
from ._vector import _BLOCK, _HELPER, _empty64, _zeros64


@njit(**_HELPER)
def _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, y, sq, logp):
    # U^T (x - mu_k) = U^T (x - c) - U^T (mu_k - c): the triangular product is
    # done once per tile, each component then costs O(d).  Centring on c (the
    # mixture mean) keeps both terms small for data far from the origin.
    n_components, d4 = lower_means.shape
    tile = xt.shape[1]
    if lower.ndim == 1:  # at most four features: L is one diagonal block
        _lower_diagonal(xt, center, lower.reshape((4, 4)), 0, y, 0)
    else:
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


@njit(**_HELPER)
def _tile_stats_tied(xt, r, scale, wt, center, lower, nk4, sums4, full, spare, rt):
    # All components share the shift c, so sum_k r_k (x-c)(x-c)^T is one
    # outer product per row weighted by w (the r_k of a row add up to one).
    # (lower: only its layout, which picks the path)
    for k in range(r.shape[0]):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk4[k] += total
        _add_sums(xt, rt, center, sums4[k])
    for i in range(rt.shape[0]):
        rt[i] = wt[i]
    if lower.ndim == 1:
        _add_diagonal_block(xt, rt, center, 0, spare, full[0])
    else:
        _add_scatter_blocks(xt, rt, center, spare, full[0])


@njit(**_BLOCK)
def _tied_block(
    first, last, X, sample_weight, resp, center, lower, lower_means, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll, out_logp, out_lse, out_labels, out_resp,
):  # fmt: skip
    # the three modes of full's block function; the shift of every component is c
    n_samples = X.shape[0]
    n_components, d4 = lower_means.shape
    scoring = part_nk.shape[0] == 0
    given = resp.shape[0] > 0
    n_stats = 0 if scoring else n_components
    for b in range(first, last):
        # the tile arrays on 64-byte boundaries (see _empty64)
        xt = _zeros64(d4 * tile, X).reshape((d4, tile))
        wt = _empty64(tile, log_norm)
        y = _empty64(d4 * tile, X).reshape((d4, tile))
        sq = _empty64(tile, X)
        rt = _empty64(tile, X)
        lse = _empty64(tile, log_norm)
        total = _empty64(tile, log_norm)
        logp = _empty64(n_components * tile, log_norm).reshape((n_components, tile))
        nk4 = _zeros64(n_stats, log_norm)
        sums4 = _zeros64(n_stats * d4, log_norm).reshape((n_stats, d4))
        n_full = 1 if n_stats > 0 else 0
        full = _zeros64(n_full * d4 * d4, log_norm).reshape((n_full, d4, d4))
        spare = _zeros64(d4, log_norm)
        ll = 0.0
        stop = (b + 1) * block_rows if (b + 1) * block_rows < n_samples else n_samples
        for start in range(b * block_rows, stop, tile):
            end = start + tile if start + tile < stop else stop
            _load_tile(X, sample_weight, start, end, xt, wt)
            if given:
                _given_tile(resp, start, wt, logp, total)
            else:
                _tile_log_prob_tied(xt, center, lower, lower_means, log_norm, y, sq, logp)
                if scoring:
                    _write_tile(
                        start, end, logp, lse, total, out_logp, out_lse, out_labels, out_resp
                    )
                    continue
                ll += _tile_responsibilities(logp, wt, lse, total)
            _tile_stats_tied(xt, logp, total, wt, center, lower, nk4, sums4, full, spare, rt)
        if not scoring:
            _pack(full, sums4, nk4, part_nk[b], part_sums[b], part_scatter[b])
            part_ll[b] = ll
