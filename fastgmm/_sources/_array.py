"""Rows of an in-memory array, a memory map or a row-sliceable array-like
(h5py, zarr): statistics and per-row scores through the kernels.

The points are cut into a fixed grid: blocks of ``_config.BLOCK_ROWS`` rows, run a
wave of blocks at a time in parallel.  Each block's partial statistics land
in their own slot and are added in block order, then wave after wave, so the
result does not depend on which thread ran what.
"""

import math

import numpy as np

from .. import _config, _kernels
from .._stats import SufficientStatistics, scatter_shape


def wave_blocks(covariance_type, n_components, n_features):
    """Blocks per wave: as many as the partials budget allows, and at most
    a chunk's bytes of float64 rows (a chunk holds whole waves), at most
    ``MAX_WAVE_BLOCKS``.  Each wave is one start of the pass's threads.

    Depends on the problem's shape only, never on the thread count.
    """
    n_scatter = math.prod(scatter_shape(covariance_type, n_components, n_features))
    per_block = 8 * (n_components * (1 + n_features) + n_scatter + 1)
    block_bytes = 8 * n_features * _config.BLOCK_ROWS
    blocks = int(
        min(
            _config.MAX_WAVE_BLOCKS,
            max(1, _config.PARTIALS_BUDGET_BYTES // per_block),
            max(1, _config.CHUNK_BYTES // block_bytes),
        )
    )
    # An even number splits evenly over 2 (and 4, ...) threads: 15 blocks on
    # 2 threads would leave one idle for a fifteenth of every wave.
    return blocks - blocks % 2 if blocks > 1 else blocks


def distinct_rows(random_state, n_samples, size):
    """``size`` distinct row indices, sorted; O(size) memory for large n.

    (RandomState.choice without replacement permutes all n_samples.)  More
    than half of the rows are the complement of a draw of the others: drawing
    with repeats until nearly every row is in takes rounds without end.
    """
    if size > n_samples // 2:
        left_out = distinct_rows(random_state, n_samples, n_samples - size)
        return np.setdiff1d(np.arange(n_samples), left_out, assume_unique=True)
    chosen = _sorted_unique(random_state.randint(0, n_samples, size=size))
    while chosen.size < size:  # each round draws only what is missing
        more = _sorted_unique(random_state.randint(0, n_samples, size=size - chosen.size))
        # insert the new ones into the sorted rows: O(size) (np.unique of all
        # of them again took 14 ms a round for 2**17 rows)
        at = np.searchsorted(chosen, more)
        seen = chosen[np.minimum(at, chosen.size - 1)] == more
        chosen = np.insert(chosen, at[~seen], more[~seen])
    return chosen


def _sorted_unique(a):
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def _memmap_span(X):
    """(mmap, byte position of X's first element in it), or None."""
    mm = getattr(X, "_mmap", None)
    if mm is None or not X.flags.c_contiguous:
        return None
    try:
        base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    except (TypeError, ValueError):
        return None
    return mm, X.ctypes.data - base


class ArraySource:
    """Rows of an array, or of an array-like read a chunk of rows at a time.

    In-memory arrays (C-contiguous float32/float64) are read in place: chunks
    are views.  Memory maps and other row-sliceable array-likes are read a
    chunk at a time (converted to float64 only if they are neither float32
    nor float64) and checked for NaN and infinity on the first pass; a memory
    map's pages are handed back to the page cache after each chunk, so the
    resident memory stays that of one chunk.

    The chunk grid is a whole number of waves, so an array and a memory map
    of it give bitwise the same statistics.
    """

    def __init__(self, X, sample_weight=None, *, chunk_rows=None, checked=True):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.chunk_rows = chunk_rows
        self.checked = checked  # rows known to be finite
        dtype = np.dtype(X.dtype)
        self.dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        # rows can be handed to the kernels as views
        self.in_place = isinstance(X, np.ndarray) and X.flags.c_contiguous and dtype == self.dtype
        # Pages of a shared or read-only map can be dropped after each chunk;
        # those of a copy-on-write map ('c') may hold the user's edits: keep.
        releasable = isinstance(X, np.memmap) and getattr(X, "mode", "c") in ("r", "r+", "w+")
        self._span = _memmap_span(X) if releasable else None
        if sample_weight is None:
            self.sample_weight = None
            self.sum_weight = float(self.n_samples)
        else:
            self.sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
            self.sum_weight = float(np.sum(self.sample_weight))
        self._buffers = {}

    # ------------------------------------------------------------ reading

    def _rows_per_chunk(self, wave_rows):
        if self.chunk_rows is not None:
            return max(1, int(self.chunk_rows))
        row_bytes = self.n_features * self.dtype.itemsize
        return max(1, _config.CHUNK_BYTES // (wave_rows * row_bytes)) * wave_rows

    def read(self, start, stop):
        """Rows start:stop as a C-contiguous float32/float64 array."""
        chunk = self.X[start:stop]
        if not self.in_place:
            chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
            if chunk.shape != (stop - start, self.n_features):
                raise ValueError(
                    f"Rows {start}:{stop} of X have shape {chunk.shape}, expected "
                    f"{(stop - start, self.n_features)}."
                )
        if self.checked:
            return chunk
        if not np.isfinite(chunk).all():
            what = "NaN" if np.isnan(chunk).any() else "infinity or a value too large"
            raise ValueError(f"Input X contains {what} (rows {start} to {stop - 1}).")
        return chunk

    def _release(self, start, stop):
        # Drop a memory map's pages for these rows from this process (they
        # stay in the page cache): resident memory stays one chunk.
        if self._span is None or not hasattr(self._span[0], "madvise"):
            return
        import mmap

        mm, first = self._span
        row_bytes = self.n_features * self.dtype.itemsize
        lo = first + start * row_bytes
        hi = first + stop * row_bytes
        lo -= lo % mmap.PAGESIZE
        try:
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
        except (OSError, ValueError, AttributeError):  # pragma: no cover
            self._span = None

    def chunks(self, rows):
        """(start, stop, chunk) over the rows, ``rows`` at a time."""
        for start in range(0, self.n_samples, rows):
            stop = min(start + rows, self.n_samples)
            yield start, stop, self.read(start, stop)
            self._release(start, stop)

    # ------------------------------------------------------------ sampling

    sequential = True  # resp_for is called on consecutive rows, in order

    def rows(self, indices):
        """The rows at ``indices`` (any order), as float32/float64."""
        indices = np.asarray(indices)
        if indices.size > 1 and np.all(indices[1:] >= indices[:-1]):  # a sorted sample
            return np.asarray(self._take(indices), dtype=self.dtype)
        order = np.argsort(indices)
        rows = np.empty((indices.size, self.n_features), dtype=self.dtype)
        rows[order] = np.asarray(self._take(indices[order]), dtype=self.dtype)
        return rows

    def _take(self, indices):
        # np.take copies whole rows (4x faster than X[indices] here: 2.2
        # against 9.4 ms for 2**17 rows of 1M x 16); other array-likes
        # (h5py, zarr, ...) are indexed as they define it
        if isinstance(self.X, np.ndarray):
            return np.take(self.X, indices, axis=0)
        return self.X[indices]

    def sample_rows(self, random_state, size):
        """``size`` distinct rows, sorted, drawn uniformly among those with
        non-zero weight (all of them if there are fewer)."""
        w = self.sample_weight
        if w is None:
            return distinct_rows(random_state, self.n_samples, size)
        candidates = np.flatnonzero(w > 0)
        if candidates.size <= size:
            return candidates
        return candidates[distinct_rows(random_state, candidates.size, size)]

    def weights_at(self, indices):
        w = self.sample_weight
        return None if w is None else w[np.asarray(indices)]

    def all_weights(self):
        return self.sample_weight

    def weighted_mean(self):
        """Column means in float64, a chunk at a time (no float64 copy of X)."""
        total = np.zeros(self.n_features)
        w = self.sample_weight
        for start, stop, rows in self.chunks(65536):
            if w is None:
                total += rows.sum(axis=0, dtype=np.float64)
            else:
                total += w[start:stop] @ rows.astype(np.float64, copy=False)
        return total / self.sum_weight

    # ------------------------------------------------------------ statistics

    def _partials(self, covariance_type, n_components):
        """Per-block partial statistics, allocated once per source."""
        key = (covariance_type, n_components)
        if key not in self._buffers:
            n_features = self.n_features
            n_blocks = wave_blocks(covariance_type, n_components, n_features)
            self._buffers[key] = (
                np.empty((n_blocks, n_components)),
                np.empty((n_blocks, n_components, n_features)),
                np.empty((n_blocks,) + scatter_shape(covariance_type, n_components, n_features)),
                np.empty(n_blocks),
            )
        return self._buffers[key]

    def _weights(self, start, stop):
        w = self.sample_weight
        return None if w is None else w[start:stop]

    @staticmethod
    def _add_partials(stats, partials, used):
        """Add the first ``used`` blocks' partial statistics, in block order."""
        stats.nk += partials[0][:used].sum(axis=0)
        stats.sums += partials[1][:used].sum(axis=0)
        stats.scatter += partials[2][:used].sum(axis=0)

    def _waves(self, wave_rows):
        """(start, stop, chunk rows start:stop) per wave, chunk by chunk."""
        for c_start, c_stop, chunk in self.chunks(self._rows_per_chunk(wave_rows)):
            for start in range(c_start, c_stop, wave_rows):
                stop = min(start + wave_rows, c_stop)
                yield start, stop, chunk[start - c_start : stop - c_start]

    def accumulate(self, params, covariance_type):
        """E-step and statistics for ``params``: one pass over the rows."""
        n_components = params.means.shape[0]
        shifts, args = _kernels.prepare(params, covariance_type, self.dtype, self.n_features)
        partials = self._partials(covariance_type, n_components)
        stats = SufficientStatistics.zeros(covariance_type, shifts)
        log_likelihood = 0.0
        block_rows = _config.BLOCK_ROWS
        for start, stop, rows in self._waves(partials[0].shape[0] * block_rows):
            _kernels.accumulate(
                covariance_type, rows, self._weights(start, stop), args,
                block_rows, _config.TILE_ROWS, partials,
            )  # fmt: skip
            used = -(-(stop - start) // block_rows)
            self._add_partials(stats, partials, used)
            log_likelihood += partials[3][:used].sum()
        self.checked = True  # every row has been read and checked once
        stats.log_likelihood = log_likelihood
        stats.sum_weight = self.sum_weight
        stats.n_samples = self.n_samples
        return stats

    def accumulate_resp(self, resp_for, shifts, covariance_type):
        """Statistics of given responsibilities (no E-step).

        resp_for : callable (start, stop, rows) -> ndarray of shape (stop - start, K)
            The responsibilities of rows ``start:stop`` (``rows`` holds them);
            called on consecutive row ranges, in order, each small enough to
            bound the scratch.
        """
        # the kernel works about shifts in the data's dtype: record those
        shifts = np.asarray(shifts).astype(self.dtype).astype(np.float64)
        if shifts.ndim != 2 or shifts.shape[1] != self.n_features or shifts.shape[0] < 1:
            raise ValueError(
                f"shifts must have shape (n_components, {self.n_features}), got {shifts.shape}."
            )
        n_components = shifts.shape[0]
        partials = self._partials(covariance_type, n_components)
        block_rows = _config.BLOCK_ROWS
        n_blocks = min(
            partials[0].shape[0],
            max(1, _config.INIT_CHUNK_BYTES // (8 * n_components * block_rows)),
        )
        stats = SufficientStatistics.zeros(covariance_type, shifts)
        for start, stop, rows in self._waves(n_blocks * block_rows):
            resp = np.ascontiguousarray(resp_for(start, stop, rows), dtype=np.float64)
            if resp.shape != (stop - start, n_components):
                raise ValueError(
                    f"resp for rows {start}:{stop} has shape {resp.shape}, expected "
                    f"{(stop - start, n_components)}."
                )
            _kernels.accumulate_resp(
                covariance_type, rows, self._weights(start, stop), resp, shifts,
                block_rows, _config.TILE_ROWS, partials,
            )  # fmt: skip
            self._add_partials(stats, partials, -(-(stop - start) // block_rows))
        self.checked = True
        stats.sum_weight = self.sum_weight
        stats.n_samples = self.n_samples
        return stats

    def nearest_statistics(self, centres, origin, family):
        """Statistics of each row given wholly to its nearest centre, about
        the centres: of type ``family`` ('full': packed scatter, or 'diag'),
        distances and sums in float64 about ``origin`` (one pass)."""
        centres = np.ascontiguousarray(centres, dtype=np.float64)
        n_clusters, n_features = centres.shape
        width = n_features * (n_features + 1) // 2 if family == "full" else n_features
        n_blocks = wave_blocks(family, n_clusters, n_features)
        partials = (
            np.empty((n_blocks, n_clusters)),
            np.empty((n_blocks, n_clusters, n_features)),
            np.empty((n_blocks, n_clusters, width)),
        )
        stats = SufficientStatistics.zeros(family, centres)
        block_rows = _config.BLOCK_ROWS
        for start, stop, rows in self._waves(n_blocks * block_rows):
            # the kernel is float64 only (one compilation): float32 rows are
            # widened a wave at a time, a bounded scratch
            rows = np.asarray(rows, dtype=np.float64)
            _kernels.nearest(rows, self._weights(start, stop), origin, centres, partials)
            self._add_partials(stats, partials, -(-(stop - start) // block_rows))
        self.checked = True
        stats.sum_weight = self.sum_weight
        stats.n_samples = self.n_samples
        return stats

    def score(self, params, covariance_type, *, log_prob=None, lse=None, labels=None, resp=None):
        """Fill the per-row outputs given: joint log-probabilities (n, K),
        log p(x) (n,), labels (n,), responsibilities (n, K)."""
        _, args = _kernels.prepare(params, covariance_type, self.dtype, self.n_features)
        n_components = args[-1].shape[0]
        n = self.n_samples
        expected = {
            "log_prob": ((n, n_components), self.dtype),
            "lse": ((n,), self.dtype),
            "labels": ((n,), np.int64),
            "resp": ((n, n_components), self.dtype),
        }
        given = {"log_prob": log_prob, "lse": lse, "labels": labels, "resp": resp}
        for name, out in given.items():
            shape, dtype = expected[name]
            if out is not None and (
                out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous
            ):
                raise ValueError(
                    f"{name} must be a C-contiguous {np.dtype(dtype).name} array of "
                    f"shape {shape}, got {out.dtype.name} {out.shape}."
                )
        empty_2d = np.empty((0, n_components), dtype=self.dtype)
        empty_1d = np.empty(0, dtype=self.dtype)
        no_labels = np.empty(0, dtype=np.int64)
        rows = self._rows_per_chunk(_config.BLOCK_ROWS)  # no partials: no waves
        for start, stop, chunk in self.chunks(rows):
            _kernels.score(
                covariance_type,
                chunk,
                args,
                _config.BLOCK_ROWS,
                _config.TILE_ROWS,
                empty_2d if log_prob is None else log_prob[start:stop],
                empty_1d if lse is None else lse[start:stop],
                no_labels if labels is None else labels[start:stop],
                empty_2d if resp is None else resp[start:stop],
            )
        self.checked = True

    def worst_rows(self, params, covariance_type, size):
        """The ``size`` rows (fewer if fewer carry weight) that ``params``
        explain worst: the lowest ``log p(x)`` among rows with non-zero
        weight, as ``(log p(x) float64, row indices)``, lowest first, ties
        by row index (whatever the thread count: each row's score is its
        own).  One scoring pass a chunk at a time: memory of one chunk."""
        _, args = _kernels.prepare(params, covariance_type, self.dtype, self.n_features)
        n_components = args[-1].shape[0]
        empty_2d = np.empty((0, n_components), dtype=self.dtype)
        no_labels = np.empty(0, dtype=np.int64)
        best_values, best_rows = np.empty(0), np.empty(0, dtype=np.int64)
        rows = self._rows_per_chunk(_config.BLOCK_ROWS)  # no partials: no waves
        for start, stop, chunk in self.chunks(rows):
            lse = np.empty(stop - start, dtype=self.dtype)
            _kernels.score(
                covariance_type, chunk, args, _config.BLOCK_ROWS, _config.TILE_ROWS,
                empty_2d, lse, no_labels, empty_2d,
            )  # fmt: skip
            values = lse.astype(np.float64)
            index = np.arange(start, stop)
            w = self._weights(start, stop)
            if w is not None:
                values, index = values[w > 0], index[w > 0]
            values = np.concatenate([best_values, values])
            index = np.concatenate([best_rows, index])
            order = np.lexsort((index, values))[:size]
            best_values, best_rows = values[order], index[order]
        self.checked = True
        return best_values, best_rows
