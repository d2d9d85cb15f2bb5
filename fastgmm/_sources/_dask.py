"""Dask arrays: the same kernels, block by block, on a cluster.

``GaussianMixture.fit(X)`` with ``X`` a ``dask.array`` reads it here, on the active
``distributed`` client if there is one, else on Dask's default scheduler.
The data is persisted once; each EM iteration maps the statistics kernel over
the row blocks (the parameters travel to the workers as one small task) and
adds the per-block statistics in a fixed binary tree, so the result does not
depend on which worker ran what; the M-step runs on the client.  No
n_samples-sized array is ever gathered: initialisation draws at most
``INIT_SAMPLE_ROWS`` rows, and ``predict``, ``predict_proba`` and
``score_samples`` return lazy Dask arrays.

Needs the optional extra: ``pip install "fastgmm[dask]"``.
"""

import math
import operator

import numpy as np

from .._validation import check_weight_values, weight_exponent
from ._array import ArraySource, distinct_rows


def is_dask_array(X):
    return (
        type(X).__module__.split(".")[0] == "dask"
        and hasattr(X, "chunks")
        and hasattr(X, "map_blocks")
    )


def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.array  # noqa: F401
    except ImportError:
        raise ImportError('Fitting a dask array needs dask: pip install "fastgmm[dask]"') from None


def _tree_sum(parts):
    """Add delayed values pairwise, in a fixed order (deterministic result)."""
    import dask

    add = dask.delayed(operator.add, pure=True)
    while len(parts) > 1:
        parts = [
            add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


# Functions that run on the workers: arrays in, statistics out.


def _block_stats(block, weights, params, covariance_type, chunk_rows):
    return ArraySource(_as_rows(block), weights, chunk_rows=chunk_rows).accumulate(
        params, covariance_type
    )


def _block_nearest_stats(block, weights, centres, origin, family, chunk_rows):
    return ArraySource(_as_rows(block), weights, chunk_rows=chunk_rows).nearest_statistics(
        centres, origin, family
    )


def _block_resp_stats(block, weights, offset, resp_for, shifts, covariance_type):
    def local(start, stop, rows):
        return resp_for(start + offset, stop + offset, rows)

    return ArraySource(_as_rows(block), weights).accumulate_resp(local, shifts, covariance_type)


def _block_moments(block, weights):
    rows = _as_rows(block).astype(np.float64)
    if weights is None:
        return rows.sum(axis=0), float(rows.shape[0])
    return weights @ rows, float(weights.sum())


def _block_check(block):
    rows = _as_rows(block)
    return bool(np.isfinite(rows).all()), bool(np.isnan(rows).any())


def _block_score(block, params, covariance_type, what, n_components):
    rows = _as_rows(block)
    n = rows.shape[0]
    if what == "labels":
        out = np.empty(n, dtype=np.int64)
    elif what == "lse":
        out = np.empty(n, dtype=rows.dtype)
    else:
        out = np.empty((n, n_components), dtype=rows.dtype)
    ArraySource(rows).score(params, covariance_type, **{what: out})
    return out


def _block_worst_rows(block, weights, offset, params, covariance_type, size):
    values, rows = ArraySource(_as_rows(block), weights).worst_rows(params, covariance_type, size)
    return values, rows + offset


def _block_top_keys(weights, seed, offset, size, uniform=False):
    weights = np.asarray(weights, dtype=np.float64)
    if uniform:  # every row of non-zero weight equally likely
        weights = (weights > 0).astype(np.float64)
    u = np.random.RandomState(seed).uniform(size=weights.shape[0])
    with np.errstate(divide="ignore"):
        keys = np.where(weights > 0, np.log(u) / weights, -np.inf)
    top = np.argsort(-keys, kind="stable")[:size]
    return keys[top], top + offset


def _as_rows(block):
    block = np.asarray(block)
    if block.dtype not in (np.float32, np.float64):
        block = block.astype(np.float64)
    return np.ascontiguousarray(block)


class DaskSource:
    """Row blocks of a Dask array, as a source for the EM driver."""

    sequential = False  # blocks run in any order: no shared random stream

    def __init__(self, X, sample_weight=None, *, chunk_rows=None):
        _require_dask()
        import dask

        X = with_known_chunks(X)
        self.n_samples, self.n_features = (int(v) for v in X.shape)
        dtype = np.dtype(X.dtype)
        self.dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self.chunk_rows = chunk_rows
        # one block per row range, all features in it; persisted once
        X = X.rechunk({1: -1}).persist()
        self.X = X
        self.blocks = list(X.to_delayed().ravel())
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
        if sample_weight is None:
            self.weight_blocks = [None] * len(self.blocks)
            self.sum_weight = float(self.n_samples)
            self.sample_weight = None
        else:
            w = sample_weight
            if not is_dask_array(w):
                import dask.array as da

                w = da.from_array(np.asarray(w, dtype=np.float64), chunks=(X.chunks[0],))
            w = with_known_chunks(w.astype(np.float64)).rechunk((X.chunks[0],)).persist()
            self.sample_weight = w
            self.weight_blocks = list(w.to_delayed().ravel())
            self.sum_weight = float(w.sum().compute())
        self.checked = False
        self._dask = dask

    def check_finite(self):
        """NaN or infinity anywhere raises, as for in-memory data."""
        if self.checked:
            return
        d = self._dask
        results = d.compute(*[d.delayed(_block_check)(b) for b in self.blocks])
        for finite, has_nan in results:
            if not finite:
                raise ValueError(
                    "Input X contains "
                    + ("NaN." if has_nan else "infinity or a value too large for dtype('float64').")
                )
        self.checked = True

    # What the initialisation asks of a source.

    def read(self, start, stop):
        return _as_rows(self.X[start:stop].compute())

    def rows(self, indices):
        return _as_rows(self.X[np.sort(indices)].compute())[np.argsort(np.argsort(indices))]

    def all_weights(self):  # unweighted: nothing to gather
        return None

    def weights_at(self, indices):
        return (
            None
            if self.sample_weight is None
            else np.asarray(self.sample_weight[np.asarray(indices)].compute())
        )

    def sample_rows(self, random_state, size):
        """``size`` distinct rows, sorted, drawn uniformly among those with
        non-zero weight (all of them if there are fewer), without gathering
        the weights: the ``size`` smallest uniform keys of the weighted rows."""
        if self.sample_weight is None:
            return distinct_rows(random_state, self.n_samples, size)
        d = self._dask
        seed = int(random_state.randint(2**31 - 1))
        parts = d.compute(
            *[
                d.delayed(_block_top_keys)(
                    w, (seed + int(off)) % 2**32, int(off), size, uniform=True
                )
                for w, off in zip(self.weight_blocks, self.offsets)
            ]
        )
        keys = np.concatenate([k for k, _ in parts])
        rows = np.concatenate([r for _, r in parts])
        best = np.argsort(-keys, kind="stable")[:size]
        return np.sort(rows[best[keys[best] > -np.inf]])

    def weighted_choice(self, random_state, size):
        """``size`` distinct rows drawn with probability proportional to weight,
        without gathering the weights: each row gets the key log(u) / w
        (Efraimidis-Spirakis), each block keeps its ``size`` largest, the
        client keeps the ``size`` largest of those.  Zero weights never win.
        """
        d = self._dask
        seed = int(random_state.randint(2**31 - 1))
        parts = d.compute(
            *[
                d.delayed(_block_top_keys)(w, (seed + int(off)) % 2**32, int(off), size)
                for w, off in zip(self.weight_blocks, self.offsets)
            ]
        )
        keys = np.concatenate([k for k, _ in parts])
        rows = np.concatenate([r for _, r in parts])
        best = np.argsort(-keys, kind="stable")[:size]
        if keys[best[-1]] == -np.inf:
            raise ValueError(
                "init_params='random_from_data' needs at least n_components samples "
                f"with non-zero weight for n_components = {size}."
            )
        return rows[best]

    def weighted_mean(self):
        d = self._dask
        parts = d.compute(
            *[d.delayed(_block_moments)(b, w) for b, w in zip(self.blocks, self.weight_blocks)]
        )
        total = np.zeros(self.n_features)
        weight = 0.0
        for block_sum, block_weight in parts:  # in block order: deterministic
            total += block_sum
            weight += block_weight
        return total / weight

    # Statistics.

    def accumulate(self, params, covariance_type):
        d = self._dask
        p = d.delayed(params, pure=True)
        parts = [
            d.delayed(_block_stats, pure=True)(b, w, p, covariance_type, self.chunk_rows)
            for b, w in zip(self.blocks, self.weight_blocks)
        ]
        stats = _tree_sum(parts).compute()
        self.checked = True
        return stats

    def accumulate_resp(self, resp_for, shifts, covariance_type):
        d = self._dask
        f = d.delayed(resp_for, pure=True)
        s = d.delayed(np.asarray(shifts, dtype=np.float64), pure=True)
        parts = [
            d.delayed(_block_resp_stats, pure=True)(b, w, int(off), f, s, covariance_type)
            for b, w, off in zip(self.blocks, self.weight_blocks, self.offsets)
        ]
        return _tree_sum(parts).compute()

    def nearest_statistics(self, centres, origin, family):
        """As :meth:`ArraySource.nearest_statistics`, block by block."""
        d = self._dask
        c = d.delayed(np.asarray(centres, dtype=np.float64), pure=True)
        o = d.delayed(np.asarray(origin, dtype=np.float64), pure=True)
        parts = [
            d.delayed(_block_nearest_stats, pure=True)(b, w, c, o, family, self.chunk_rows)
            for b, w in zip(self.blocks, self.weight_blocks)
        ]
        stats = _tree_sum(parts).compute()
        self.checked = True
        return stats

    def worst_rows(self, params, covariance_type, size):
        """As :meth:`ArraySource.worst_rows`: each block's worst rows on its
        worker, merged here in block order (deterministic)."""
        d = self._dask
        p = d.delayed(params, pure=True)
        parts = d.compute(
            *[
                d.delayed(_block_worst_rows, pure=True)(b, w, int(off), p, covariance_type, size)
                for b, w, off in zip(self.blocks, self.weight_blocks, self.offsets)
            ]
        )
        values = np.concatenate([v for v, _ in parts])
        rows = np.concatenate([r for _, r in parts])
        order = np.lexsort((rows, values))[:size]
        return values[order], rows[order]

    def score_lazy(self, params, covariance_type, what, n_components):
        """A lazy Dask array of per-row outputs ('labels', 'lse', 'resp' or
        'log_prob')."""
        kwargs = dict(
            params=params, covariance_type=covariance_type, what=what, n_components=n_components
        )
        if what in ("resp", "log_prob"):
            return self.X.map_blocks(
                _block_score,
                dtype=self.dtype,
                chunks=(self.X.chunks[0], (n_components,)),
                **kwargs,
            )
        return self.X.map_blocks(
            _block_score,
            dtype=np.int64 if what == "labels" else self.dtype,
            drop_axis=1,
            **kwargs,
        )


def with_known_chunks(X):
    """X with its chunk sizes known.

    Boolean indexing leaves them unknown (NaN); they are computed here on the
    persisted array (one pass), where Dask would otherwise leave the shape
    unknown.
    """
    if any(math.isnan(c) for sizes in X.chunks for c in sizes):
        X = X.persist()
        X.compute_chunk_sizes()
    return X


def check_dask_sample_weight(sample_weight, n_samples, *, rescale=True):
    """sample_weight for Dask input: None, or a validated float64 (Dask) array,
    rescaled by a power of two as in-memory weights are (``rescale``)."""
    if sample_weight is None:
        return None
    import dask
    import dask.array as da

    w = (
        sample_weight
        if is_dask_array(sample_weight)
        else da.from_array(np.asarray(sample_weight, dtype=np.float64))
    )
    w = with_known_chunks(w)
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. Expected "
            f"either a scalar value or a 1D array of length {n_samples}."
        )
    if w.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n_samples,)}!")
    w = w.astype(np.float64)
    finite, negative, positive, largest = dask.compute(
        da.isfinite(w).all(), (w < 0).any(), (w > 0).any(), w.max()
    )
    if not finite:
        raise ValueError("Input sample_weight contains NaN or infinity.")
    check_weight_values(negative, positive)
    if not rescale:
        return w
    return np.ldexp(w, -weight_exponent(largest))  # exact, as for in-memory weights


def weighted_mean(values, weights=None):
    """Mean of a Dask array (weighted), computed: a number."""
    if weights is None:
        return float(values.astype(np.float64).mean().compute())
    weights = weights.rechunk(values.chunks)
    import dask

    num, den = dask.compute((values.astype(np.float64) * weights).sum(), weights.sum())
    return float(num / den)
