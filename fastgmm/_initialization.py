"""Initial responsibilities, drawn as scikit-learn draws them.

scikit-learn materialises an ``n_samples x n_components`` responsibility
matrix here.  We draw the same random numbers (the same calls on the same
``RandomState``) but hand them to the source a chunk of rows at a time, which
turns them into sufficient statistics.

Up to ``INIT_SAMPLE_ROWS`` rows, every ``init_params`` is exactly
scikit-learn's, so a given ``random_state`` gives its start.  Beyond, the
k-means steps (``kmeans``, ``k-means++``) are fastgmm's own (``_kmeans``, in
Numba, bitwise the same for any thread count) on a random sample of that
many rows; for ``kmeans`` every row then goes to its nearest centre in one
pass of a kernel that sums each row into its centre's statistics alone.
``random_from_data`` draws its rows without a permutation of all of them.
Memory stays O(sample), whatever n_samples, and the initialisation costs
about an EM iteration.
"""

import warnings

import numpy as np
import sklearn
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning

from . import _kmeans
from ._config import INIT_SAMPLE_ROWS
from ._mstep import (
    GaussianParameters,
    compute_precision_cholesky,
    estimate_parameters,
    precision_cholesky_from_precisions,
)
from ._sources import ArraySource, distinct_rows
from ._stats import SufficientStatistics


def _one_hot_labels(labels, n_components):
    def resp_for(start, stop, rows):
        resp = np.zeros((stop - start, n_components))
        resp[np.arange(stop - start), labels[start:stop]] = 1.0
        return resp

    return resp_for


def _one_hot_indices(indices, n_components):
    """Row ``indices[k]`` has responsibility 1 for component k."""
    indices = np.asarray(indices)
    components = np.arange(n_components)

    def resp_for(start, stop, rows):
        resp = np.zeros((stop - start, n_components))
        inside = (indices >= start) & (indices < stop)
        resp[indices[inside] - start, components[inside]] = 1.0
        return resp

    return resp_for


def _finite(rows):
    """The sampled rows, checked (a memory map's rows are checked as they
    are read, and these are read before the first pass)."""
    if not np.isfinite(rows).all():
        what = "NaN" if np.isnan(rows).any() else "infinity or a value too large"
        raise ValueError(f"Input X contains {what}.")
    return rows


def _kmeans_steps():
    """scikit-learn's own k-means steps, those ``KMeans.fit`` runs, or None.

    ``KMeans(n_init=1).fit`` on dense data is, in scikit-learn 1.6 to 1.9
    (read and tested): the tolerance from the data's variances, the data
    less its mean, its squared row norms, one k-means++ seeding and one Lloyd
    run.  Around them it validates the data and weights again, scans the
    loaded libraries (a warning for one Windows combination) and limits
    BLAS: 0.1-0.2 ms of a 20-row fit that takes under 1 ms.  Called directly
    the steps give the same centres and labels, bit for bit; any other
    scikit-learn version gets ``KMeans`` itself.
    """
    major_minor = tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit())
    if not (1, 6) <= major_minor < (1, 10):
        return None
    try:
        from sklearn.cluster._kmeans import _kmeans_plusplus, _kmeans_single_lloyd, _tolerance
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
        from sklearn.utils.extmath import row_norms
    except ImportError:
        return None
    return (
        _tolerance,
        row_norms,
        _kmeans_plusplus,
        _kmeans_single_lloyd,
        _openmp_effective_n_threads,
    )


_KMEANS_STEPS = _kmeans_steps()


def scikit_learn_kmeans(data, weights, n_components, random_state):
    """``KMeans(n_components, n_init=1, random_state).fit(data, weights)``:
    (centres, labels), the same numbers, its warning on duplicate rows."""
    steps = _KMEANS_STEPS
    if (
        steps is None
        or not isinstance(data, np.ndarray)
        or data.dtype not in (np.float32, np.float64)
        or not data.flags.c_contiguous
    ):
        kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
        kmeans.fit(data, sample_weight=weights)
        return kmeans.cluster_centers_, kmeans.labels_
    tolerance, row_norms, plusplus, lloyd, n_threads = steps
    n_samples = data.shape[0]
    if weights is None:
        weights = np.ones(n_samples, dtype=data.dtype)
    else:
        weights = np.ascontiguousarray(weights, dtype=data.dtype)
    tol = tolerance(data, 1e-4)  # KMeans' default tol, on the data as given
    mean = data.mean(axis=0)
    centred = data - mean
    seeds, _ = plusplus(
        centred,
        n_components,
        random_state=random_state,
        x_squared_norms=row_norms(centred, squared=True),
        sample_weight=weights,
    )
    labels, _, centres, _ = lloyd(
        centred, weights, seeds, max_iter=300, verbose=False, tol=tol, n_threads=n_threads()
    )
    centres += mean
    distinct = len(set(labels))
    if distinct < n_components:
        warnings.warn(
            f"Number of distinct clusters ({distinct}) found smaller than "
            f"n_clusters ({n_components}). Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return centres, labels


def _nearest_statistics(source, centres, origin, covariance_type):
    """The statistics of every row given to its nearest centre, in one pass.

    The pass sums full scatter matrices (full, tied) or their diagonals
    (diag, spherical) about each centre; tied's are then rebased onto the
    data's mean, derived from the same sums, and added; spherical's are
    traces."""
    family = "full" if covariance_type in ("full", "tied") else "diag"
    stats = source.nearest_statistics(centres, origin, family)
    if covariance_type == "spherical":
        scatter = stats.scatter.sum(axis=1, keepdims=True)
    elif covariance_type == "tied":
        mean = (stats.nk @ stats.shifts + stats.sums.sum(axis=0)) / stats.nk.sum()
        stats = stats.rebased(np.tile(mean, (stats.n_components, 1)))
        scatter = stats.scatter.sum(axis=0, keepdims=True)
    else:
        return stats
    return SufficientStatistics(
        covariance_type, stats.shifts, stats.nk, stats.sums, scatter, stats.sum_weight,
        0.0, stats.n_samples,
    )  # fmt: skip


def initial_statistics(
    source,
    *,
    init_params,
    n_components,
    covariance_type,
    random_state,
):
    """Sufficient statistics of the initial responsibilities.

    Sample weights (the source's) are passed to the k-means steps, so that
    zero-weight rows are never picked as centres; without them the draws are
    scikit-learn's.
    """
    n_samples = source.n_samples
    large = n_samples > INIT_SAMPLE_ROWS
    if init_params in ("kmeans", "k-means++"):
        if large:  # among the rows that carry weight
            sample_idx = source.sample_rows(random_state, INIT_SAMPLE_ROWS)
        else:
            sample_idx = np.arange(n_samples)
        data = _finite(source.rows(sample_idx)) if large else source.read(0, n_samples)
        weights = source.weights_at(sample_idx)

    if init_params == "kmeans":
        if large:
            # On the sample, the best of a few runs (_kmeans.N_INIT) makes
            # up for what the sample does not see.
            centres, origin = _kmeans.kmeans(data, weights, n_components, random_state)
            return _nearest_statistics(source, centres, origin, covariance_type)
        if not (isinstance(source, ArraySource) or source.checked):
            _finite(data)  # KMeans checked them; ArraySource.read does
        shifts, labels = scikit_learn_kmeans(data, weights, n_components, random_state)
        resp_for = _one_hot_labels(labels, n_components)
    elif init_params == "k-means++":
        if large:
            indices = _kmeans.kmeans_plusplus(data, weights, n_components, random_state)
            shifts = data[indices].astype(np.float64)
        else:
            shifts, indices = kmeans_plusplus(
                data, n_components, random_state=random_state, sample_weight=weights
            )
        resp_for = _one_hot_indices(sample_idx[indices], n_components)
    elif init_params == "random":
        resp_for = _uniform_responsibilities(source, random_state, n_components)
        shifts = np.tile(source.weighted_mean(), (n_components, 1))
    elif hasattr(source, "weighted_choice") and source.sample_weight is not None:
        # random_from_data, weighted, on a Dask array: drawn block-wise
        indices = source.weighted_choice(random_state, n_components)
        resp_for = _one_hot_indices(indices, n_components)
        shifts = np.asarray(source.rows(indices), dtype=np.float64)
    else:  # "random_from_data"
        sample_weight = source.all_weights()
        p = None
        if sample_weight is not None:
            if np.count_nonzero(sample_weight) < n_components:
                raise ValueError(
                    "init_params='random_from_data' needs at least n_components "
                    f"samples with non-zero weight, got "
                    f"{np.count_nonzero(sample_weight)} for "
                    f"n_components = {n_components}."
                )
            p = sample_weight / sample_weight.sum()
        if large and p is None:
            indices = random_state.permutation(distinct_rows(random_state, n_samples, n_components))
        else:
            indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
        resp_for = _one_hot_indices(indices, n_components)
        shifts = np.asarray(source.rows(indices), dtype=np.float64)

    if covariance_type == "tied":
        # Tied statistics share one shift.  Responsibilities that add up to
        # one per row make it a free choice: the data mean, to keep digits.
        # Those of k-means++ and random_from_data cover only n_components
        # rows, and scikit-learn's tied covariance (raw moments of all rows
        # minus those of the means) then depends on the origin: shifting by
        # zero reproduces it.
        if init_params in ("kmeans", "random"):
            center = source.weighted_mean()
        else:
            center = np.zeros(source.n_features)
        shifts = np.tile(center, (n_components, 1))
    return source.accumulate_resp(resp_for, shifts, covariance_type)


def _uniform_responsibilities(source, random_state, n_components):
    """init_params='random': rows of uniform draws, normalised."""
    dtype = source.dtype
    if source.sequential:

        def resp_for(start, stop, rows):
            # Consecutive draws from the stream give the same numbers as
            # sklearn's single (n_samples, n_components) draw.
            resp = np.asarray(random_state.uniform(size=(stop - start, n_components)), dtype=dtype)
            resp /= resp.sum(axis=1)[:, np.newaxis]
            return resp

        return resp_for
    # Blocks processed in any order (Dask): each row range draws from its own
    # stream, seeded from random_state and the range's first row.
    seed = int(random_state.randint(2**31 - 1))

    def resp_for(start, stop, rows):
        rng = np.random.RandomState((seed + start) % 2**32)
        resp = np.asarray(rng.uniform(size=(stop - start, n_components)), dtype=dtype)
        resp /= resp.sum(axis=1)[:, np.newaxis]
        return resp

    return resp_for


def initialize(source, settings, random_state):
    """Initial parameters: the ``*_init`` given, the rest from ``init_params``."""
    return _initial_parameters(_statistics(source, settings, random_state), settings)


def initialize_repaired(source, settings, random_state, repair):
    """:func:`initialize` with the ``on_degenerate`` policy's M-step
    (``repair``, a :class:`~fastgmm._degenerate.Repair`): a component that
    the initial responsibilities leave degenerate is moved or removed, as in
    the iterations, to rows the healthy components explain worst.  Given
    weights or means are the user's start and are kept as they are: with
    them, scikit-learn's error is raised.  Returns ``(params, events)``."""
    s = settings
    stats = _statistics(source, settings, random_state)
    if stats is None or s.precisions_init is not None:
        return _initial_parameters(stats, settings), []
    if s.weights_init is not None or s.means_init is not None:
        return _initial_parameters(stats, settings), []

    def worst_rows(size, weights, means, covariances, healthy):
        keep = np.flatnonzero(healthy)
        kept = covariances if s.covariance_type == "tied" else covariances[keep]
        scoring = GaussianParameters(
            weights[keep] / weights[keep].sum(),
            means[keep],
            None,
            compute_precision_cholesky(kept, s.covariance_type, s.float32_input),
        )
        _, indices = source.worst_rows(scoring, s.covariance_type, size)
        return indices, source.rows(indices)

    return repair.m_step(stats, 0, worst_rows, normalize_weights=False)


def _statistics(source, settings, random_state):
    """The initial responsibilities' statistics, or None when every
    ``*_init`` is given (nothing to estimate)."""
    s = settings
    if s.weights_init is None or s.means_init is None or s.precisions_init is None:
        return initial_statistics(
            source,
            init_params=s.init_params,
            n_components=s.n_components,
            covariance_type=s.covariance_type,
            random_state=random_state,
        )
    return None


def initialize_from_resp(source, settings, resp):
    """Initial parameters from given responsibilities (n_samples, n_components)
    and the ``*_init`` given."""
    shifts = np.tile(source.weighted_mean(), (settings.n_components, 1))
    stats = source.accumulate_resp(
        lambda start, stop, rows: resp[start:stop], shifts, settings.covariance_type
    )
    return _initial_parameters(stats, settings)


def _initial_parameters(stats, settings):
    s = settings
    weights = means = covariances = None
    if stats is not None:
        weights, means, covariances = estimate_parameters(
            stats, s.reg_covar, s.eps, normalize_weights=False
        )
    if s.weights_init is not None:
        weights = s.weights_init
    if s.means_init is not None:
        means = s.means_init
    if s.precisions_init is None:
        precisions_cholesky = compute_precision_cholesky(
            covariances, s.covariance_type, s.float32_input
        )
    else:
        covariances = None
        precisions_cholesky = precision_cholesky_from_precisions(
            s.precisions_init, s.covariance_type
        )
    return GaussianParameters(weights, means, covariances, precisions_cholesky)
