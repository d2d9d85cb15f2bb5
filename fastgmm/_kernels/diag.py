"""Diagonal and spherical covariances: O(d) per point and component.

One block function serves both: the precision factors are (K, d) for diag
and (K,) for spherical, and Numba resolves ``prec_chol.ndim`` when it
compiles, so each type's kernel holds its own arithmetic only.
"""

from numba import njit

from ._tiles import _given_tile, _load_tile, _scaled_row, _tile_responsibilities, _write_tile
from ._vector import _BLOCK, _HELPER, _empty64, _zero_of, _zeros64


@njit(**_HELPER)
def _tile_log_prob_diag(xt, means, prec_chol, log_norm, sq, logp):
    # four features a pass over sq (one load and store of it per four
    # squares: 7% faster per iteration with AVX-512, the same with AVX2)
    n_components, n_features = means.shape
    tile = xt.shape[1]
    head = n_features - n_features % 4
    for k in range(n_components):
        for i in range(tile):
            sq[i] = 0.0
        if prec_chol.ndim == 2:  # diag: each feature scaled by its own factor
            for t in range(0, head, 4):
                m0 = means[k, t]
                m1 = means[k, t + 1]
                m2 = means[k, t + 2]
                m3 = means[k, t + 3]
                p0 = prec_chol[k, t]
                p1 = prec_chol[k, t + 1]
                p2 = prec_chol[k, t + 2]
                p3 = prec_chol[k, t + 3]
                for i in range(tile):
                    v0 = (xt[t, i] - m0) * p0
                    v1 = (xt[t + 1, i] - m1) * p1
                    v2 = (xt[t + 2, i] - m2) * p2
                    v3 = (xt[t + 3, i] - m3) * p3
                    sq[i] += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3
            for t in range(head, n_features):
                mu = means[k, t]
                p = prec_chol[k, t]
                for i in range(tile):
                    v = (xt[t, i] - mu) * p
                    sq[i] += v * v
            half = 0.5
        else:  # spherical: one factor, applied to the squared distance
            for t in range(0, head, 4):
                m0 = means[k, t]
                m1 = means[k, t + 1]
                m2 = means[k, t + 2]
                m3 = means[k, t + 3]
                for i in range(tile):
                    v0 = xt[t, i] - m0
                    v1 = xt[t + 1, i] - m1
                    v2 = xt[t + 2, i] - m2
                    v3 = xt[t + 3, i] - m3
                    sq[i] += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3
            for t in range(head, n_features):
                mu = means[k, t]
                for i in range(tile):
                    v = xt[t, i] - mu
                    sq[i] += v * v
            half = 0.5 * prec_chol[k] * prec_chol[k]
        ln = log_norm[k]
        for i in range(tile):
            logp[k, i] = ln - half * sq[i]


@njit(**_HELPER)
def _tile_stats_diag(xt, r, scale, shifts, nk, sums, scatter, rt):
    # scatter (K, d) for diag, (K, 1) for spherical: the sum over features
    n_components, n_features = shifts.shape
    tile = xt.shape[1]
    spherical = scatter.shape[1] == 1  # (d = 1: both are the same sum)
    for k in range(n_components):
        total = _scaled_row(r, k, scale, rt)
        if total == 0.0:
            continue
        nk[k] += total
        trace = 0.0
        for t in range(n_features):
            c = shifts[k, t]
            s1 = s2 = _zero_of(xt)
            for i in range(tile):
                v = xt[t, i] - c
                rv = rt[i] * v
                s1 += rv
                s2 += rv * v
            sums[k, t] += s1
            if spherical:
                trace += s2
            else:
                scatter[k, t] += s2
        if spherical:
            scatter[k, 0] += trace


@njit(**_BLOCK)
def _diag_block(
    first, last, X, sample_weight, resp, means, prec_chol, log_norm, block_rows, tile,
    part_nk, part_sums, part_scatter, part_ll, out_logp, out_lse, out_labels, out_resp,
):  # fmt: skip
    # the three modes of full's block function
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    width = part_scatter.shape[2]
    scoring = part_nk.shape[0] == 0
    given = resp.shape[0] > 0
    n_stats = 0 if scoring else n_components
    for b in range(first, last):
        # the tile arrays on 64-byte boundaries (see _empty64)
        xt = _empty64(n_features * tile, X).reshape((n_features, tile))
        wt = _empty64(tile, log_norm)
        sq = _empty64(tile, X)
        rt = _empty64(tile, X)
        lse = _empty64(tile, log_norm)
        total = _empty64(tile, log_norm)
        logp = _empty64(n_components * tile, log_norm).reshape((n_components, tile))
        nk = _zeros64(n_stats, log_norm)
        sums = _zeros64(n_stats * n_features, log_norm).reshape((n_stats, n_features))
        scatter = _zeros64(n_stats * width, log_norm).reshape((n_stats, width))
        ll = 0.0
        stop = (b + 1) * block_rows if (b + 1) * block_rows < n_samples else n_samples
        for start in range(b * block_rows, stop, tile):
            end = start + tile if start + tile < stop else stop
            _load_tile(X, sample_weight, start, end, xt, wt)
            if given:
                _given_tile(resp, start, wt, logp, total)
            else:
                _tile_log_prob_diag(xt, means, prec_chol, log_norm, sq, logp)
                if scoring:
                    _write_tile(
                        start, end, logp, lse, total, out_logp, out_lse, out_labels, out_resp
                    )
                    continue
                ll += _tile_responsibilities(logp, wt, lse, total)
            _tile_stats_diag(xt, logp, total, means, nk, sums, scatter, rt)
        if scoring:
            continue
        # block b's statistics into its slot (loops: a slice assignment
        # compiles a shape check with its error message, seconds of compile time)
        for k in range(n_components):
            part_nk[b, k] = nk[k]
            for t in range(n_features):
                part_sums[b, k, t] = sums[k, t]
            for t in range(width):
                part_scatter[b, k, t] = scatter[k, t]
        part_ll[b] = ll
