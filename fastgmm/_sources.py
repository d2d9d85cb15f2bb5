"""Where the rows come from: each source turns parameters into sufficient
statistics (and per-row scores) through the kernels, and nothing else.

The points are cut into a fixed grid: blocks of ``BLOCK_ROWS`` rows, run a
wave of blocks at a time in parallel.  Each block's partial statistics land
in their own slot and are added in block order, then wave after wave, so the
result does not depend on which thread ran what.
"""

import math

import numpy as np

from . import _kernels
from ._config import (
    BLOCK_ROWS,
    INIT_CHUNK_BYTES,
    MAX_WAVE_BLOCKS,
    PARTIALS_BUDGET_BYTES,
    TILE_ROWS,
)
from ._mstep import log_det_cholesky
from ._stats import SufficientStatistics, scatter_shape

_LOG_2PI = math.log(2 * math.pi)


def wave_blocks(covariance_type, n_components, n_features):
    """Blocks per wave: as many as the partials budget allows, at most 64.

    Depends on the problem's shape only, never on the thread count.
    """
    n_scatter = math.prod(scatter_shape(covariance_type, n_components, n_features))
    per_block = 8 * (n_components * (1 + n_features) + n_scatter + 1)
    return int(min(MAX_WAVE_BLOCKS, max(1, PARTIALS_BUDGET_BYTES // per_block)))


def _pad_features(a, n_axes=1):
    """Zero-pad the last ``n_axes`` axes (of size n_features) to a multiple of 4.

    Full and tied kernels work on blocks of four features; zeros in the padded
    parameters keep the padded rows of a tile at zero.
    """
    n_features = a.shape[-1]
    extra = -(-n_features // 4) * 4 - n_features
    width = [(0, 0)] * (a.ndim - n_axes) + [(0, extra)] * n_axes
    return np.ascontiguousarray(np.pad(a, width) if extra else a, dtype=np.float64)


def kernel_parameters(params, covariance_type):
    """The arrays the kernels take for ``params``, and the shifts c_k.

    Returns ``(shifts, args)``: ``args`` are the parameter arguments of
    ``_accumulate_<type>`` and ``_score_<type>``.
    """
    weights = np.asarray(params.weights, dtype=np.float64)
    means = np.ascontiguousarray(params.means, dtype=np.float64)
    prec_chol = np.ascontiguousarray(params.precisions_cholesky, dtype=np.float64)
    n_components, n_features = means.shape
    with np.errstate(divide="ignore"):  # a zero weight is log(0) = -inf
        log_norm = (
            np.log(weights)
            + log_det_cholesky(prec_chol, covariance_type, n_features)
            - 0.5 * n_features * _LOG_2PI
        )
    log_norm = np.ascontiguousarray(np.broadcast_to(log_norm, (n_components,)))
    if covariance_type == "full":
        # the kernels take L = U^T, lower triangular
        lower = _pad_features(prec_chol.transpose(0, 2, 1), 2)
        return means, (_pad_features(means), lower, log_norm)
    if covariance_type == "tied":
        center = weights @ means
        lower = _pad_features(prec_chol.T, 2)
        lower_means = _pad_features((means - center) @ prec_chol)
        shifts = np.ascontiguousarray(np.broadcast_to(center, means.shape))
        return shifts, (_pad_features(center), lower, lower_means, log_norm)
    return means, (means, prec_chol, log_norm)


class ArraySource:
    """Rows of an in-memory array (C-contiguous, float32 or float64).

    The array is read in place, never copied or upcast.
    """

    def __init__(self, X, sample_weight=None):
        self.X = X
        self.n_samples, self.n_features = X.shape
        if sample_weight is None:
            self.sample_weight = np.empty(0)
            self.sum_weight = float(self.n_samples)
        else:
            self.sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
            self.sum_weight = float(np.sum(self.sample_weight))
        self._buffers = {}

    def _partials(self, covariance_type, n_components, with_ll=True):
        """Per-block partial statistics, allocated once per source."""
        key = (covariance_type, n_components)
        if key not in self._buffers:
            n_features = self.n_features
            n_blocks = wave_blocks(covariance_type, n_components, n_features)
            self._buffers[key] = (
                np.empty((n_blocks, n_components)),
                np.empty((n_blocks, n_components, n_features)),
                np.empty(
                    (n_blocks,) + scatter_shape(covariance_type, n_components, n_features)
                ),
                np.empty(n_blocks),
            )
        return self._buffers[key]

    def _waves(self, n_blocks):
        step = n_blocks * BLOCK_ROWS
        for start in range(0, self.n_samples, step):
            stop = min(start + step, self.n_samples)
            yield start, stop, -(-(stop - start) // BLOCK_ROWS)

    def _weights(self, start, stop):
        w = self.sample_weight
        return w if w.shape[0] == 0 else w[start:stop]

    def accumulate(self, params, covariance_type):
        """E-step and statistics for ``params``: one pass over the rows."""
        n_components = params.means.shape[0]
        shifts, args = kernel_parameters(params, covariance_type)
        kernel = _kernels.ACCUMULATE[covariance_type]
        part_nk, part_sums, part_scatter, part_ll = self._partials(
            covariance_type, n_components
        )
        stats = SufficientStatistics.zeros(covariance_type, shifts)
        log_likelihood = 0.0
        for start, stop, used in self._waves(part_nk.shape[0]):
            kernel(
                self.X[start:stop], self._weights(start, stop), *args, BLOCK_ROWS,
                TILE_ROWS, part_nk, part_sums, part_scatter, part_ll,
            )  # fmt: skip
            stats.nk += part_nk[:used].sum(axis=0)
            stats.sums += part_sums[:used].sum(axis=0)
            stats.scatter += part_scatter[:used].sum(axis=0)
            log_likelihood += part_ll[:used].sum()
        stats.log_likelihood = log_likelihood
        stats.sum_weight = self.sum_weight
        stats.n_samples = self.n_samples
        return stats

    def accumulate_resp(self, resp_for, shifts, covariance_type):
        """Statistics of given responsibilities (no E-step).

        resp_for : callable (start, stop) -> ndarray of shape (stop - start, K)
            The responsibilities of rows ``start:stop``; called on consecutive
            row ranges, in order, each small enough to bound the scratch.
        """
        shifts = np.ascontiguousarray(shifts, dtype=np.float64)
        padded_shifts = _pad_features(shifts)
        n_components = shifts.shape[0]
        part_nk, part_sums, part_scatter, _ = self._partials(
            covariance_type, n_components
        )
        n_blocks = min(
            part_nk.shape[0],
            max(1, INIT_CHUNK_BYTES // (8 * n_components * BLOCK_ROWS)),
        )
        kind = _kernels.RESP_KIND[covariance_type]
        stats = SufficientStatistics.zeros(covariance_type, shifts)
        for start, stop, used in self._waves(n_blocks):
            resp = np.ascontiguousarray(resp_for(start, stop), dtype=np.float64)
            _kernels.accumulate_resp(
                self.X[start:stop], self._weights(start, stop), resp, padded_shifts,
                kind, BLOCK_ROWS, TILE_ROWS, part_nk, part_sums, part_scatter,
            )  # fmt: skip
            stats.nk += part_nk[:used].sum(axis=0)
            stats.sums += part_sums[:used].sum(axis=0)
            stats.scatter += part_scatter[:used].sum(axis=0)
        stats.sum_weight = self.sum_weight
        stats.n_samples = self.n_samples
        return stats

    def score(
        self, params, covariance_type, *, log_prob=None, lse=None, labels=None, resp=None
    ):
        """Fill the per-row outputs given: joint log-probabilities (n, K),
        log p(x) (n,), labels (n,), responsibilities (n, K)."""
        n_components = params.means.shape[0]
        _, args = kernel_parameters(params, covariance_type)
        dtype = self.X.dtype
        empty_2d = np.empty((0, n_components), dtype=dtype)
        _kernels.SCORE[covariance_type](
            self.X, *args, BLOCK_ROWS, TILE_ROWS,
            empty_2d if log_prob is None else log_prob,
            np.empty(0, dtype=dtype) if lse is None else lse,
            np.empty(0, dtype=np.int64) if labels is None else labels,
            empty_2d if resp is None else resp,
        )  # fmt: skip
