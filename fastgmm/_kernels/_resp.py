"""Statistics of given responsibilities (initialisation: no E-step)."""

import numpy as np
from numba import njit, prange

from ._blocks import _pack
from ._tiles import _load_tile
from ._vector import _PARALLEL
from .diag import _tile_stats_diag, _tile_stats_spherical
from .full import _tile_stats_full
from .tied import _tile_stats_tied


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
