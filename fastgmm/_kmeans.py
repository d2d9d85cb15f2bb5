"""fastgmm's own k-means, for initialisations beyond ``INIT_SAMPLE_ROWS``.

Up to that many rows the ``kmeans`` and ``k-means++`` starts are
scikit-learn's own, draw for draw.  Beyond, they run here, on a random
sample of that many rows: k-means++ seeding (greedy, with ``2 + log K``
candidates per centre, the best kept) and Lloyd iterations, each a parallel
pass of the Numba kernels (``_kernels.kmeans``).  Every sum is taken per
block of rows and added in block order, so the centres are bitwise the same
for any thread count.  The random draws are made here, on the
``RandomState`` given.

Lloyd's iterations stop when no label changes, or when the centres move by
at most ``tol`` times the sample's mean feature variance (squared, summed
over the centres), as scikit-learn's do.  A centre left with no rows moves
to the rows farthest from their centres.
"""

import math

import numpy as np

from . import _config, _kernels

#: Independent k-means runs on the sample (seeding and Lloyd); the one of
#: lowest inertia is kept.  A sample does not see every row, so a few runs
#: make up for an unlucky one at less cost than one run on all rows.
N_INIT = 3

MAX_ITER = 300
TOL = 1e-4


def _zeros64(shape):
    """float64 zeros whose first element is on a 64-byte boundary (numpy's
    are on 16): the kernels' vector loads over the rows' blocks then never
    split over two cache lines (see ``_kernels._vector._empty64``)."""
    n = math.prod(shape)
    buf = np.zeros(n + 8)
    start = (-buf.ctypes.data % 64) // 8
    return buf[start : start + n].reshape(shape)


class _Rows:
    """A sample of rows (in the data's dtype), its weights, and the origin
    the kernels take distances about (its mean).  k-means runs many passes
    over it: they read a float64 copy, transposed (``transposed``)."""

    def __init__(self, rows, weights):
        self.rows = np.ascontiguousarray(rows)
        self.weights = None if weights is None else np.ascontiguousarray(weights, np.float64)
        self.n = self.rows.shape[0]
        self.origin = self.rows.mean(axis=0, dtype=np.float64)
        self.n_blocks = -(-self.n // _config.BLOCK_ROWS)
        self._transposed = None

    def transposed(self):
        """The rows about the origin in float64, zero-padded to whole blocks:
        block by block transposed (n_blocks, d4, BLOCK_ROWS) with d4 = d
        rounded up to a multiple of 4 (zeros), as they are (n_blocks
        BLOCK_ROWS, d), and their squared norms (n_blocks, BLOCK_ROWS): the
        layout of the seeding and Lloyd kernels, made once."""
        if self._transposed is None:
            block_rows = _config.BLOCK_ROWS
            n_features = self.rows.shape[1]
            y = np.zeros((self.n_blocks * block_rows, n_features))
            np.subtract(self.rows, self.origin, out=y[: self.n])
            yb = _zeros64((self.n_blocks, -(-n_features // 4) * 4, block_rows))
            yb[:, :n_features] = y.reshape(self.n_blocks, block_rows, -1).transpose(0, 2, 1)
            sq = np.einsum("wdb,wdb->wb", yb, yb, out=_zeros64((self.n_blocks, block_rows)))
            self._transposed = yb, y, sq
        return self._transposed

    def mean_variance(self):
        """The features' variances (unweighted, as scikit-learn's k-means
        tolerance), averaged: from the squared norms about the mean."""
        _, y, sq = self.transposed()
        mean = y[: self.n].mean(axis=0)  # zero but for rounding
        return max(float(sq.sum()) / self.n - float(mean @ mean), 0.0) / y.shape[1]

    def lloyd_step(self, centres, labels, dists):
        """One Lloyd assignment to ``centres`` (K, d), labels and distances
        in place: (nk, weighted means of the groups, inertia, labels changed);
        a group with no weight has a NaN mean."""
        yb, y, sq = self.transposed()
        n_clusters, n_features = centres.shape
        partials = (
            np.empty((self.n_blocks, n_clusters)),
            np.empty((self.n_blocks, n_clusters, n_features)),
            np.empty(self.n_blocks),
            np.empty(self.n_blocks, dtype=np.int64),
        )
        _kernels.lloyd_step(yb, y, sq, self.weights, centres - self.origin, labels, dists, partials)
        nk = partials[0].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self.origin + partials[1].sum(axis=0) / nk[:, None]
        return nk, means, float(partials[2].sum()), int(partials[3].sum())

    def candidates(self, indices, runs, closest, distances=True):
        """The potentials of the rows at ``indices`` as seeds of ``runs``
        (each row's squared distance, at most ``closest[runs]``, summed with
        the weights), those distances (or None), and the potentials' sums
        per block (n_blocks, len(indices))."""
        yb, _, sq = self.transposed()
        block_rows = _config.BLOCK_ROWS
        candidates = yb[indices // block_rows, :, indices % block_rows]
        dist = np.empty((len(indices) if distances else 0, self.n))
        part_pot = np.empty((self.n_blocks, len(indices)))
        _kernels.candidate_distances(
            yb, sq, self.weights, candidates, runs, closest, dist, part_pot
        )
        return part_pot.sum(axis=0), dist if distances else None, part_pot


def kmeans_plusplus(rows, weights, n_clusters, random_state):
    """Indices (into ``rows``) of k-means++ seeds, greedy: of ``2 + log K``
    candidates drawn in proportion to the weighted squared distance to the
    nearest seed so far, the one that lowers the potential most."""
    return _seed(_Rows(rows, weights), n_clusters, random_state, 1)[0]


def _seed(sample, n_clusters, random_state, n_runs):
    """(n_runs, n_clusters) seed indices of independent k-means++ runs, in
    lockstep: each step's candidates of every run take one pass over the
    rows.  The draws go run after run within a step."""
    n = sample.n
    w = sample.weights
    n_local_trials = 2 + int(np.log(n_clusters))
    p = None if w is None else w / w.sum()
    indices = np.empty((n_runs, n_clusters), dtype=np.int64)
    for r in range(n_runs):
        indices[r, 0] = random_state.randint(n) if p is None else random_state.choice(n, p=p)
    each_run = np.arange(n_runs)
    current_pot, closest, block_pot = sample.candidates(
        indices[:, 0], each_run, np.full((n_runs, n), np.inf)
    )
    runs = np.repeat(each_run, n_local_trials)
    for c in range(1, n_clusters):
        ids = np.empty(n_runs * n_local_trials, dtype=np.int64)
        for r in range(n_runs):
            draws = random_state.uniform(size=n_local_trials) * current_pot[r]
            ids[r * n_local_trials : (r + 1) * n_local_trials] = _draw(
                draws, block_pot[:, r], closest[r], w
            )
        # the potentials of every candidate, then the distances of the best
        # (a pass that writes n_runs rows of distances, not every candidate's)
        pot, _, _ = sample.candidates(ids, runs, closest, distances=False)
        best = np.argmin(pot.reshape(n_runs, n_local_trials), axis=1)
        indices[:, c] = ids[best + each_run * n_local_trials]
        current_pot, closest, block_pot = sample.candidates(indices[:, c], each_run, closest)
    return indices


def _draw(draws, block_pot, closest, w):
    """The rows where the running sum of ``w * closest`` passes each of
    ``draws`` (at most the last row): first the block, from the kernel's
    per-block sums, then the row within it (no running sum over all rows)."""
    block_rows = _config.BLOCK_ROWS
    n = closest.shape[0]
    ends = np.cumsum(block_pot)
    blocks = np.minimum(np.searchsorted(ends, draws), len(ends) - 1)
    ids = np.empty(len(draws), dtype=np.int64)
    for j, (b, draw) in enumerate(zip(blocks, draws)):
        lo, hi = b * block_rows, min((b + 1) * block_rows, n)
        part = closest[lo:hi] if w is None else w[lo:hi] * closest[lo:hi]
        within = np.searchsorted(np.cumsum(part), draw - (ends[b - 1] if b else 0.0))
        ids[j] = lo + min(within, hi - lo - 1)
    return ids


def _lloyd(sample, centres, tol):
    """Lloyd iterations from ``centres``: (centres, inertia)."""
    labels = np.full(sample.n, -1, dtype=np.int64)
    dists = np.empty(sample.n)
    inertia = np.inf
    for _ in range(MAX_ITER):
        nk, means, inertia, changed = sample.lloyd_step(centres, labels, dists)
        if changed == 0:  # the labels are those of these centres: converged
            break
        filled = nk > 0
        new = centres.copy()
        new[filled] = means[filled]
        empty = np.flatnonzero(~filled)
        if empty.size:  # to the rows farthest from their centres
            farthest = np.argsort(-dists, kind="stable")[: empty.size]
            new[empty] = sample.rows[farthest]
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if shift <= tol:
            break
    return centres, inertia


def kmeans(rows, weights, n_clusters, random_state, n_init=N_INIT):
    """k-means centres (n_clusters, d) float64 of ``rows`` (weighted by
    ``weights``, or None): the best of ``n_init`` runs of seeding and Lloyd."""
    sample = _Rows(rows, weights)
    tol = TOL * sample.mean_variance()
    best, best_inertia = None, np.inf
    for seeds in _seed(sample, n_clusters, random_state, n_init):
        centres, inertia = _lloyd(sample, sample.rows[seeds].astype(np.float64), tol)
        if best is None or inertia < best_inertia:
            best, best_inertia = centres, inertia
    return best, sample.origin
