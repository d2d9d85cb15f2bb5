"""The kernels' face: the only way into the Numba code.

Arrays and scalars in, arrays out.  Two jobs per covariance family, each a
parallel driver over blocks of rows:

* ``accumulate``: one fused pass of the E-step and the sufficient statistics.
  Block ``b`` of ``block_rows`` rows writes its partial statistics into
  ``part_*[b]``; the caller adds them up in block order, so which thread ran
  which block never changes a bit of the result.
* ``score``: the same log-probabilities with accumulation switched off,
  writing per-row outputs.

and ``accumulate_resp``, the statistics of given responsibilities (the
initialisation).  This module prepares their arguments (``prepare``: the
parameters, checked, in the layout the kernels take), hands them read-only
views, and converts "no weights" (None above it) to the kernels' empty
sentinel.  The files below it:

    _vector.py   jit options; an exp and a log that vectorise
    _tiles.py    a tile of rows, transposed; log-sum-exp; per-row outputs
    _blocks.py   the 4 x 4 feature blocks of full and tied (register sums)
    full.py      full covariances         } log-probabilities and statistics
    tied.py      one tied covariance      } of a tile, and the two parallel
    diag.py      diag and spherical       } drivers of each family
    _resp.py     statistics of given responsibilities
    _cache.py    the disk-cache guard (see there)

Notation (scikit-learn's): ``prec_chol`` is the Cholesky factor ``U`` of the
precision, upper triangular, ``precision = U U^T``; for ``y = U^T (x - mu)``::

    log N(x | mu, Sigma) = -d/2 log(2 pi) + sum(log diag U) - |y|^2 / 2

so nothing is inverted.  The constant and ``log pi_k`` arrive folded into
``log_norm[k] = log pi_k + sum(log diag U_k) - d/2 log(2 pi)``.  Full and
tied take ``lower = U^T`` (rows contiguous) and work on the features in
blocks of four: parameters are zero-padded to ``padded_width`` features.
Scatter statistics are packed upper triangles, row by row.

Kernel contracts (W blocks of a wave, K components, d features):

    IN   X (n, d) float32/float64, C order, read-only; weights (n,) or (0,)
    IN   the parameter arrays of ``prepare``; block_rows, tile
    OUT  accumulate: part_nk (W, K), part_sums (W, K, d),
         part_scatter (W, K|1, *), part_ll (W,): block b's sum w r,
         sum w r (x - c_k), sum w r (x - c_k)(x - c_k)^T (packed; summed over
         k for tied; diagonal; trace), sum w log p(x)
    OUT  score: log_prob (n, K), lse (n,), labels (n,), resp (n, K); a (0, K)
         or (0,) array for an output not wanted

Precision follows the input: distances and moment products in its dtype
(float32 runs twice as many points per vector), exp/log, responsibilities,
``N_k`` and every tile's moment sums added in float64.
"""

import math
import pathlib

import numpy as np

from .._mstep import log_det_cholesky
from .._validation import check_mixture_parameters
from . import _cache, _resp, diag, full, tied

ACCUMULATE = {
    "full": full._accumulate_full,
    "tied": tied._accumulate_tied,
    "diag": diag._accumulate_diag,
    "spherical": diag._accumulate_spherical,
}
SCORE = {
    "full": full._score_full,
    "tied": tied._score_tied,
    "diag": diag._score_diag,
    "spherical": diag._score_spherical,
}
# The scatter layout _accumulate_resp writes, per covariance type.
_RESP_KIND = {"full": 0, "tied": 1, "diag": 2, "spherical": 3}

_cache.guard(
    pathlib.Path(__file__).parent,
    [*ACCUMULATE.values(), *SCORE.values(), _resp._accumulate_resp],
)

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


_NO_WEIGHTS = read_only(np.empty(0))


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
    with np.errstate(divide="ignore"):  # a zero weight is log(0) = -inf
        log_norm = (
            np.log(weights)
            + log_det_cholesky(prec_chol, covariance_type, n_features)
            - 0.5 * n_features * _LOG_2PI
        )
    log_norm = np.ascontiguousarray(np.broadcast_to(log_norm, (n_components,)))
    if covariance_type == "tied":
        center = (weights @ means).astype(dtype)
        lower = _pad_features(prec_chol.T, 2, dtype)
        lower_means = _pad_features((means - center) @ prec_chol, 1, dtype)
        shifts = np.broadcast_to(center.astype(np.float64), means.shape).copy()
        return shifts, (_pad_features(center, 1, dtype), lower, lower_means, log_norm)
    kernel_means = means.astype(dtype)
    shifts = kernel_means.astype(np.float64)
    if covariance_type == "full":
        # the kernels take L = U^T, lower triangular
        lower = _pad_features(prec_chol.transpose(0, 2, 1), 2, dtype, "full")
        return shifts, (_pad_features(kernel_means, 1, dtype, "full"), lower, log_norm)
    return shifts, (kernel_means, prec_chol.astype(dtype), log_norm)


def accumulate(covariance_type, rows, sample_weight, args, block_rows, tile, partials):
    """E-step and statistics of ``rows`` into ``partials`` (part_nk,
    part_sums, part_scatter, part_ll), one slot per block."""
    ACCUMULATE[covariance_type](
        read_only(rows), _weights(sample_weight), *args, block_rows, tile, *partials
    )


def score(covariance_type, rows, args, block_rows, tile, log_prob, lse, labels, resp):
    """Per-row outputs of ``rows``: (0, K) or (0,) arrays for those not wanted."""
    SCORE[covariance_type](read_only(rows), *args, block_rows, tile, log_prob, lse, labels, resp)


def pad_shifts(shifts, dtype, covariance_type):
    """Shifts (K, d) float64 in the layout :func:`accumulate_resp` takes."""
    return _pad_features(shifts, 1, dtype, covariance_type)


def accumulate_resp(
    covariance_type, rows, sample_weight, resp, padded_shifts, block_rows, tile, partials
):
    """Statistics of given responsibilities ``resp`` (n, K) float64 into
    ``partials`` (part_nk, part_sums, part_scatter): no E-step.

    For 'tied', one shift ``padded_shifts[0]`` serves every component and
    the scatter is that of every row about it: equal to the sum over
    components when each row's responsibilities add up to one, and
    scikit-learn's tied initialisation (raw moments of all rows) when they
    do not (k-means++, random_from_data).
    """
    _resp._accumulate_resp(
        read_only(rows),
        _weights(sample_weight),
        resp,
        padded_shifts,
        _RESP_KIND[covariance_type],
        block_rows,
        tile,
        *partials,
    )
