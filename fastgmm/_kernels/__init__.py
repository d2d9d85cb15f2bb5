"""The kernels' face: the only way into the Numba code.

Arrays and scalars in, arrays out.  One block function per covariance
family (``RUN``), run over blocks of rows in parallel by
``_parallel.run_blocks``, with three modes:

* ``accumulate``: one fused pass of the E-step and the sufficient statistics.
  Block ``b`` of ``block_rows`` rows writes its partial statistics into
  ``part_*[b]``; the caller adds them up in block order, so which thread ran
  which block never changes a bit of the result.
* ``accumulate_resp``: the same statistics of given responsibilities (the
  initialisation), with no E-step.
* ``score``: the same log-probabilities with accumulation switched off,
  writing per-row outputs.

A mode is chosen by which arguments are empty, so a fit, its initialisation
and the predictions after it run one compiled kernel per (type, dtype).
This module prepares their arguments (``prepare``: the parameters, checked,
in the layout the kernels take), hands them read-only views, and converts
"no weights" (None above it) to the kernels' empty sentinel.  The files
below it:

    _vector.py   jit options; an exp and a log that vectorise
    _tiles.py    a tile of rows, transposed; log-sum-exp; given
                 responsibilities; per-row outputs
    _blocks.py   the 4 x 4 feature blocks of full and tied (register sums;
                 4 x 2 halves where the target has 16 vector registers)
    full.py      full covariances         } log-probabilities and statistics
    tied.py      one tied covariance      } of a tile, and the parallel
    diag.py      diag and spherical       } block function of each family
    kmeans.py    k-means beyond 2^17 rows: nearest centres with their
                 statistics, Lloyd steps, k-means++ candidates (float64)
    _parallel.py a pass's blocks on Python threads, each calling a
                 family's block function (nothing compiled; see there)
    _cache.py    the disk-cache guard (see there)

Notation (scikit-learn's): ``prec_chol`` is the Cholesky factor ``U`` of the
precision, upper triangular, ``precision = U U^T``; for ``y = U^T (x - mu)``::

    log N(x | mu, Sigma) = -d/2 log(2 pi) + sum(log diag U) - |y|^2 / 2

so nothing is inverted.  The constant and ``log pi_k`` arrive folded into
``log_norm[k] = log pi_k + sum(log diag U_k) - d/2 log(2 pi)`` (the
variational mixture puts its expected log-weight and Wishart terms where
``log pi_k`` is: its E-step is this one with other constants).  Full and
tied take ``lower = U^T`` (rows contiguous) and work on the features in
blocks of four: parameters are zero-padded to ``padded_width`` features.
With at most four features, full takes each ``lower[k]`` flattened to a
row of ``d4 * d4`` (2-D, not 3-D) and tied its ``lower`` as one row of 16
(1-D, not 2-D): that layout compiles the small path alone (see ``full.py``,
``tied.py`` and ``kernel_variant``).
Scatter statistics are packed upper triangles, row by row.

Kernel contracts (W blocks of a wave, K components, d features):

    IN   X (n, d) float32/float64, C order, read-only; weights (n,) or (0,);
         resp (n, K) float64 given responsibilities, or (0, 0)
    IN   the parameter arrays of ``prepare``; block_rows, tile
    OUT  accumulate: part_nk (W, K), part_sums (W, K, d),
         part_scatter (W, K|1, *), part_ll (W,): block b's sum w r,
         sum w r (x - c_k), sum w r (x - c_k)(x - c_k)^T (packed; summed over
         k for tied; diagonal; trace), sum w log p(x)
    OUT  score: log_prob (n, K), lse (n,), labels (n,), resp (n, K); a (0, K)
         or (0,) array for an output not wanted; partials with no rows

Precision follows the input: distances and moment products in its dtype
(float32 runs twice as many points per vector), exp/log, responsibilities,
``N_k`` and every tile's moment sums added in float64.
"""

import math
import pathlib

import numpy as np

from .. import _config
from .._mstep import log_det_cholesky
from .._stats import scatter_shape
from .._validation import check_mixture_parameters
from . import _cache, _parallel, diag, full, kmeans, tied

# One block function per covariance family: E-step with statistics, given
# responsibilities, and per-row scores are its three modes, so a fit and the
# predictions after it compile one large kernel per (type, dtype).  The
# blocks of a pass run in parallel through ``_parallel.run_blocks``.
RUN = {
    "full": full._full_block,
    "tied": tied._tied_block,
    "diag": diag._diag_block,
    "spherical": diag._diag_block,  # (its factors' ndim picks spherical's arithmetic)
}

_cache.guard(
    pathlib.Path(__file__).parent,
    [*set(RUN.values()), kmeans._nearest_block, kmeans._lloyd_block,
     kmeans._candidates_block],
)  # fmt: skip

_LOG_2PI = math.log(2 * math.pi)


def padded_width(n_features, covariance_type=None):
    """The kernels' feature count for full and tied: a multiple of 4, or 2
    for full with at most 2 features (it has two-feature loops)."""
    if covariance_type == "full" and n_features <= 2:
        return 2
    return -(-n_features // 4) * 4


def _pad_features(a, n_axes=1, dtype=np.float64, covariance_type=None):
    """Zero-pad the last ``n_axes`` axes (of size n_features) to ``padded_width``:
    zeros in the padded parameters keep the padded rows of a tile at zero."""
    n_features = a.shape[-1]
    extra = padded_width(n_features, covariance_type) - n_features
    width = [(0, 0)] * (a.ndim - n_axes) + [(0, extra)] * n_axes
    return np.ascontiguousarray(np.pad(a, width) if extra else a, dtype=dtype)


# Full and tied compile one path for data of at most this many features (one
# register block; the factors handed over flattened) and one for more (see
# full.py).
_SMALL_FEATURES = 4


def kernel_variant(covariance_type, n_features):
    """The compiled variant of a type's block function that data of
    ``n_features`` runs, as a label: full and tied compile one path for at
    most four features and one for more; diag and spherical have one ('')."""
    if covariance_type not in ("full", "tied"):
        return ""
    return "up to 4 features" if n_features <= _SMALL_FEATURES else "5 features or more"


def variant_widths(covariance_type):
    """A number of features that runs each compiled variant of the type's
    block function (what ``warmup`` compiles)."""
    if covariance_type not in ("full", "tied"):
        return (_SMALL_FEATURES - 1,)
    return (_SMALL_FEATURES - 1, _SMALL_FEATURES + 1)


def _small_layout(lower):
    """Full's factors (K, d4, d4) or tied's (d4, d4) as the kernels take
    them: with at most four features, each factor as one row of d4 * d4,
    which compiles the kernel's small path alone (see ``full.py``)."""
    d4 = lower.shape[-1]
    return lower.reshape(*lower.shape[:-2], d4 * d4) if d4 <= _SMALL_FEATURES else lower


def as_matrices(covariance_type, args):
    """:func:`prepare`'s ``args`` with full's or tied's factors as matrices
    again, (K, d4, d4) or (d4, d4), for host code that reads them."""
    if covariance_type not in ("full", "tied") or args[1].ndim == (
        3 if covariance_type == "full" else 2
    ):
        return args
    d4 = math.isqrt(args[1].shape[-1])
    return (args[0], args[1].reshape(*args[1].shape[:-1], d4, d4), *args[2:])


def read_only(a):
    """A read-only view of ``a``, as every kernel takes its inputs.

    Numba compiles a kernel once for writable and once for read-only arrays,
    and the two compilations were seen to round float32 sums differently (a
    memory-mapped fit then differed from the in-memory one in the last bits):
    read-only views give one compilation, hence bitwise the same result for
    the same rows whatever array holds them (and half the compile time).
    """
    view = a.view(np.ndarray)
    view.flags.writeable = False
    return view


def _read_only(arrays):
    # the parameter arrays, read-only in every mode: one compiled signature
    return [read_only(a) for a in arrays]


_NO_WEIGHTS = read_only(np.empty(0))
_NO_RESP = read_only(np.empty((0, 0)))


def _weights(sample_weight):
    return _NO_WEIGHTS if sample_weight is None else read_only(sample_weight)


def prepare(params, covariance_type, dtype=np.float64, n_features=None):
    """The arrays the kernels take for ``params``, and the shifts c_k.

    Every shape is checked first (against ``n_features``, the data's, when
    given), whoever made the parameters: no kernel runs on shapes that
    disagree.  ``dtype`` is the data's: the kernels compute distances in it,
    so means and precision factors are handed over rounded to it
    (``log_norm`` stays float64).  The shifts returned are those the kernels
    use, rounded means included, as float64: the statistics are exact about
    them.

    Returns ``(shifts, args)``: ``args`` go to :func:`accumulate` and
    :func:`score`.
    """
    weights, means, prec_chol = check_mixture_parameters(
        params.weights,
        params.means,
        params.precisions_cholesky,
        covariance_type,
        n_features=n_features,
    )
    n_components, n_features = means.shape
    log_weights = params.log_weights
    if log_weights is None:
        with np.errstate(divide="ignore"):  # a zero weight is log(0) = -inf
            log_weights = np.log(weights)
    else:
        log_weights = np.asarray(log_weights, dtype=np.float64)
        if log_weights.shape != (n_components,) or not np.all(np.isfinite(log_weights)):
            raise ValueError(
                f"log_weights must be {n_components} finite values, got shape {log_weights.shape}."
            )
    with np.errstate(divide="ignore"):
        log_norm = (
            log_weights
            + log_det_cholesky(prec_chol, covariance_type, n_features)
            - 0.5 * n_features * _LOG_2PI
        )
    log_norm = np.ascontiguousarray(np.broadcast_to(log_norm, (n_components,)))
    if covariance_type == "tied":
        center = (weights @ means).astype(dtype)
        lower = _small_layout(_pad_features(prec_chol.T, 2, dtype))
        lower_means = _pad_features((means - center) @ prec_chol, 1, dtype)
        shifts = np.broadcast_to(center.astype(np.float64), means.shape).copy()
        return shifts, (_pad_features(center, 1, dtype), lower, lower_means, log_norm)
    kernel_means = means.astype(dtype)
    shifts = kernel_means.astype(np.float64)
    if covariance_type == "full":
        # the kernels take L = U^T, lower triangular
        lower = _small_layout(_pad_features(prec_chol.transpose(0, 2, 1), 2, dtype, "full"))
        return shifts, (_pad_features(kernel_means, 1, dtype, "full"), lower, log_norm)
    return shifts, (kernel_means, prec_chol.astype(dtype), log_norm)


def _no_outputs(dtype, n_components):
    # the per-row outputs when only statistics are wanted: empty, of the types
    # of real ones (the same compiled kernel)
    return (
        np.empty((0, n_components), dtype=dtype),
        np.empty(0, dtype=dtype),
        np.empty(0, dtype=np.int64),
        np.empty((0, n_components), dtype=dtype),
    )


def _no_partials(covariance_type, n_components, n_features):
    # the partial statistics when only per-row outputs are wanted
    return (
        np.empty((0, n_components)),
        np.empty((0, n_components, n_features)),
        np.empty((0, *scatter_shape(covariance_type, n_components, n_features))),
        np.empty(0),
    )


def _run(covariance_type, rows, weights, resp, params, block_rows, tile, partials, outputs):
    """The type's block function over ``rows``, after checking that it will index
    the per-block and per-row arrays within their ends."""
    n_rows = rows.shape[0]
    n_blocks = -(-n_rows // block_rows)
    if any(0 < a.shape[0] < n_blocks for a in partials) or any(
        0 < a.shape[0] != n_rows for a in (weights, resp, *outputs)
    ):
        raise ValueError(
            f"{n_rows} rows in {n_blocks} blocks, but partial statistics for "
            f"{[a.shape[0] for a in partials]} blocks and per-row arrays of "
            f"{[a.shape[0] for a in (weights, resp, *outputs)]} rows."
        )
    _parallel.run_blocks(
        RUN[covariance_type],
        n_blocks,
        (rows, weights, resp, *params, block_rows, tile, *partials, *outputs),
    )


def accumulate(covariance_type, rows, sample_weight, args, block_rows, tile, partials):
    """E-step and statistics of ``rows`` into ``partials`` (part_nk,
    part_sums, part_scatter, part_ll), one slot per block."""
    _run(
        covariance_type, read_only(rows), _weights(sample_weight), _NO_RESP, _read_only(args),
        block_rows, tile, partials, _no_outputs(rows.dtype, args[-1].shape[0]),
    )  # fmt: skip


def score(covariance_type, rows, args, block_rows, tile, log_prob, lse, labels, resp):
    """Per-row outputs of ``rows``: (0, K) or (0,) arrays for those not wanted."""
    n_components = args[-1].shape[0]
    _run(
        covariance_type, read_only(rows), _NO_WEIGHTS, _NO_RESP, _read_only(args), block_rows,
        tile, _no_partials(covariance_type, n_components, rows.shape[1]),
        (log_prob, lse, labels, resp),
    )  # fmt: skip


def _resp_args(shifts, dtype, covariance_type):
    """The parameter arrays of :func:`prepare`'s layout with the shifts in
    place of the means (the rest is unused with given responsibilities)."""
    n_components, n_features = shifts.shape
    log_norm = np.zeros(n_components)
    if covariance_type in ("diag", "spherical"):
        shape = (n_components, n_features) if covariance_type == "diag" else (n_components,)
        prec_chol = np.zeros(shape)
        return (shifts.astype(dtype), prec_chol.astype(dtype), log_norm)
    d4 = padded_width(n_features, covariance_type)
    padded = _pad_features(shifts, 1, dtype, covariance_type)
    if covariance_type == "tied":
        zeros = _small_layout(np.zeros((d4, d4), dtype=dtype))
        return (
            np.ascontiguousarray(padded[0]),
            zeros,
            np.zeros((n_components, d4), dtype),
            log_norm,
        )
    return (padded, _small_layout(np.zeros((n_components, d4, d4), dtype=dtype)), log_norm)


def accumulate_resp(covariance_type, rows, sample_weight, resp, shifts, block_rows, tile, partials):
    """Statistics of given responsibilities ``resp`` (n, K) float64 about
    ``shifts`` (K, d) into ``partials`` (part_nk, part_sums, part_scatter,
    part_ll): no E-step (part_ll is 0).

    For 'tied', one shift ``shifts[0]`` serves every component and the
    scatter is that of every row about it: equal to the sum over components
    when each row's responsibilities add up to one, and scikit-learn's tied
    initialisation (raw moments of all rows) when they do not (k-means++,
    random_from_data).
    """
    resp = read_only(np.ascontiguousarray(resp, dtype=np.float64))
    n_components = shifts.shape[0]
    if resp.shape != (rows.shape[0], n_components) or shifts.shape[1] != rows.shape[1]:
        raise ValueError(
            f"resp must have shape {(rows.shape[0], n_components)} and shifts "
            f"{(n_components, rows.shape[1])}, got {resp.shape} and {shifts.shape}."
        )
    _run(
        covariance_type, read_only(rows), _weights(sample_weight), resp,
        _read_only(_resp_args(shifts, rows.dtype, covariance_type)), block_rows, tile, partials,
        _no_outputs(rows.dtype, n_components),
    )  # fmt: skip


def nearest(rows, sample_weight, origin, centres, partials):
    """Each row's nearest of ``centres`` (K, d) and the hard-assignment
    statistics about them, into ``partials`` (part_nk (W, K), part_sums
    (W, K, d), part_scatter (W, K, P) with P = 0, d or d (d + 1) / 2), one
    slot per block.  ``rows`` float64; ``sample_weight`` (n,) or None.
    Distances are taken about ``origin`` (d,)."""
    n_rows, n_features = rows.shape
    sample_weight = _weights(sample_weight)
    centres = np.asarray(centres, dtype=np.float64)
    origin = np.asarray(origin, dtype=np.float64)
    if rows.dtype != np.float64:
        raise ValueError(f"nearest: rows must be float64 (one compilation), got {rows.dtype}.")
    n_clusters = centres.shape[0]
    n_blocks = -(-n_rows // _config.BLOCK_ROWS)
    width = partials[2].shape[-1]
    if (
        len(partials) != 3
        or centres.shape != (n_clusters, n_features)
        or n_clusters < 1
        or origin.shape != (n_features,)
        or partials[0].shape[1:] != (n_clusters,)
        or partials[1].shape[1:] != (n_clusters, n_features)
        or partials[2].shape[1:] != (n_clusters, width)
        or width not in (0, n_features, n_features * (n_features + 1) // 2)
        or any(a.shape[0] < n_blocks for a in partials)
        or 0 < sample_weight.shape[0] != n_rows
    ):
        raise ValueError(
            f"nearest: {n_rows} x {n_features} rows in {n_blocks} blocks, but centres "
            f"{centres.shape}, origin {origin.shape}, partials "
            f"{[a.shape for a in partials]}, weights {sample_weight.shape}."
        )
    padded, half_norms = _pairs(centres - origin, -(-n_features // 4) * 4)
    _parallel.run_blocks(kmeans._nearest_block, n_blocks, (
        read_only(rows), sample_weight, read_only(origin), padded, half_norms,
        _config.BLOCK_ROWS, _config.TILE_ROWS, *partials,
    ))  # fmt: skip


def _pairs(centres, d4):
    """Centres (K, d) zero-padded to (K rounded up to even, d4) for the
    kernels' pairs, and their half squared norms (inf for a padding row: it
    never wins a row)."""
    n_clusters, n_features = centres.shape
    padded = np.zeros((n_clusters + n_clusters % 2, d4))
    padded[:n_clusters, :n_features] = centres
    half_norms = np.full(padded.shape[0], np.inf)
    half_norms[:n_clusters] = 0.5 * np.einsum("kd,kd->k", centres, centres)
    return read_only(padded), read_only(half_norms)


def candidate_distances(Yb, sq, sample_weight, candidates, runs, closest, dist_out, part_pot):
    """k-means++, several runs at once, on rows given about their origin,
    block by block transposed (``Yb`` (W, d4, B) float64, block ``b``'s rows
    in ``Yb[b]``, zero-padded to a multiple of 4 features and whole blocks;
    ``sq`` (W, B) their squared norms): ``dist_out[c] = min(closest[runs[c]],
    |x - candidates[c]|^2)`` per row (unless ``dist_out`` has no rows), and
    each block's weighted sum of it in ``part_pot[b, c]``.  ``candidates``
    (C, d4) are about the origin too."""
    n_blocks, d4, block_rows = Yb.shape
    n_rows = closest.shape[1] if closest.ndim == 2 else -1
    sample_weight = _weights(sample_weight)
    candidates = np.asarray(candidates, dtype=np.float64)
    runs = np.ascontiguousarray(runs, dtype=np.int64)
    n_candidates = candidates.shape[0]
    if (
        Yb.dtype != np.float64
        or d4 % 4
        or sq.shape != (n_blocks, block_rows)
        or not (n_blocks - 1) * block_rows < n_rows <= n_blocks * block_rows
        or candidates.shape != (n_candidates, d4)
        or runs.shape != (n_candidates,)
        or (n_candidates > 0 and not 0 <= runs.min() <= runs.max() < closest.shape[0])
        or dist_out.shape not in ((n_candidates, n_rows), (0, n_rows))
        or part_pot.shape != (n_blocks, n_candidates)
        or 0 < sample_weight.shape[0] != n_rows
    ):
        raise ValueError(
            f"candidate_distances: rows {Yb.shape}, but sq {sq.shape}, candidates "
            f"{candidates.shape}, runs {runs.shape}, closest {closest.shape}, dist_out "
            f"{dist_out.shape}, part_pot {part_pot.shape}."
        )
    padded, half_norms = _pairs(candidates, d4)
    _parallel.run_blocks(kmeans._candidates_block, n_blocks, (
        read_only(np.ascontiguousarray(Yb)), read_only(np.ascontiguousarray(sq, np.float64)),
        sample_weight, padded, half_norms, read_only(runs),
        read_only(np.ascontiguousarray(closest, dtype=np.float64)), dist_out, part_pot,
    ))  # fmt: skip


def lloyd_step(Yb, Y, sq, sample_weight, centres, labels, dists, partials):
    """A Lloyd step on rows given as for :func:`candidate_distances` (about
    their origin, block by block transposed, with their squared norms), and
    the same rows untransposed (``Y`` (W B, d), zero-padded rows):
    ``labels`` (n,) int64 updated in place, ``dists`` (n,) each row's squared
    distance to its centre, and per block (``partials``: part_nk (W, K),
    part_sums (W, K, d), part_inertia (W,), part_changed (W,) int64) the
    weights, weighted sums about the origin, inertia and label changes.
    ``centres`` (K, d) are about the origin."""
    n_blocks, d4, block_rows = Yb.shape
    n_rows = labels.shape[0]
    n_features = Y.shape[1] if Y.ndim == 2 else -1
    sample_weight = _weights(sample_weight)
    centres = np.asarray(centres, dtype=np.float64)
    n_clusters = centres.shape[0]
    if (
        Yb.dtype != np.float64
        or d4 % 4
        or not d4 - 4 < n_features <= d4
        or sq.shape != (n_blocks, block_rows)
        or Y.shape != (n_blocks * block_rows, n_features)
        or Y.dtype != np.float64
        or not (n_blocks - 1) * block_rows < n_rows <= n_blocks * block_rows
        or labels.dtype != np.int64
        or dists.shape != (n_rows,)
        or centres.shape != (n_clusters, n_features)
        or n_clusters < 1
        or partials[0].shape != (n_blocks, n_clusters)
        or partials[1].shape != (n_blocks, n_clusters, n_features)
        or any(a.shape != (n_blocks,) for a in partials[2:])
        or 0 < sample_weight.shape[0] != n_rows
    ):
        raise ValueError(
            f"lloyd_step: rows {Yb.shape} and {Y.shape}, but sq {sq.shape}, labels "
            f"{labels.shape}, dists {dists.shape}, centres {centres.shape}, partials "
            f"{[a.shape for a in partials]}."
        )
    padded, half_norms = _pairs(centres, d4)
    _parallel.run_blocks(kmeans._lloyd_block, n_blocks, (
        read_only(np.ascontiguousarray(Yb)), read_only(np.ascontiguousarray(Y)),
        read_only(np.ascontiguousarray(sq, np.float64)), sample_weight, padded, half_norms,
        labels, dists, *partials,
    ))  # fmt: skip
