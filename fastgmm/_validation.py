"""Input and parameter validation, in scikit-learn's words.

Everything a kernel will read is checked here first: a bad value becomes a
``ValueError`` or ``TypeError`` naming the problem, never a Numba traceback.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array

# Declarative constraints, checked by sklearn's machinery: its messages, e.g.
# "The 'n_components' parameter of GaussianMixture must be an int in the
# range [1, inf). Got 0 instead."
from sklearn.utils._param_validation import Interval, StrOptions

PARAMETER_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
    "tol": [Interval(Real, 0.0, None, closed="left")],
    "reg_covar": [Interval(Real, 0.0, None, closed="left")],
    # 0: initialise only (scikit-learn's behaviour, no ConvergenceWarning)
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "n_init": [Interval(Integral, 1, None, closed="left")],
    "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
    "weights_init": ["array-like", None],
    "means_init": ["array-like", None],
    "precisions_init": ["array-like", None],
    "random_state": ["random_state"],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "verbose_interval": [Interval(Integral, 1, None, closed="left")],
    "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
    "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
    "learning_offset": [Interval(Real, 0.0, None, closed="left")],
    "on_degenerate": [StrOptions({"raise", "reseed", "drop"})],
}


# scikit-learn's BayesianGaussianMixture: the mixture's own parameters less
# the *_init and partial_fit's step sizes, plus its priors.
BAYESIAN_PARAMETER_CONSTRAINTS = {
    **{
        name: rule
        for name, rule in PARAMETER_CONSTRAINTS.items()
        if name
        not in (
            "weights_init",
            "means_init",
            "precisions_init",
            "learning_decay",
            "learning_offset",
        )
    },
    "weight_concentration_prior_type": [
        StrOptions({"dirichlet_process", "dirichlet_distribution"})
    ],
    "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
    "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
    "mean_prior": [None, "array-like"],
    "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
    "covariance_prior": [None, "array-like", Interval(Real, 0.0, None, closed="neither")],
}


def _check_shape(param, param_shape, name):
    if param.shape != param_shape:
        raise ValueError(
            "The parameter '%s' should have the shape of %s, but got %s"
            % (name, param_shape, param.shape)
        )


def check_weights(weights, n_components):
    # no input_name: scikit-learn's message for NaN here is "Input contains NaN."
    weights = check_array(weights, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range "
            "[0, 1], but got max value %.5f, min value %.5f" % (np.min(weights), np.max(weights))
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not abs(1.0 - float(np.sum(weights))) <= atol:
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = %.5f"
            % np.sum(weights)
        )
    return weights.astype(np.float64)


def check_means(means, n_components, n_features):
    means = check_array(means, dtype=[np.float64, np.float32], ensure_2d=False)
    _check_shape(means, (n_components, n_features), "means")
    return means.astype(np.float64)


def _check_precision_matrix(precision, covariance_type):
    if not (np.allclose(precision, precision.T) and np.all(np.linalg.eigvalsh(precision) > 0.0)):
        raise ValueError("'%s precision' should be symmetric, positive-definite" % covariance_type)


def check_precisions(precisions, covariance_type, n_components, n_features):
    precisions = check_array(
        precisions,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=covariance_type == "full",
    )
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    _check_shape(precisions, shapes[covariance_type], "%s precision" % covariance_type)
    if covariance_type == "full":
        for precision in precisions:
            _check_precision_matrix(precision, covariance_type)
    elif covariance_type == "tied":
        _check_precision_matrix(precisions, covariance_type)
    elif np.any(precisions <= 0.0):
        raise ValueError("'%s precision' should be positive" % covariance_type)
    return precisions.astype(np.float64)


def check_rows(X, *, ensure_min_samples=1, estimator_name="GaussianMixture"):
    """Shape and dtype of data read in row blocks (a memory map, an h5py or
    zarr dataset, a Dask array), in scikit-learn's words; returns n_features.
    Its values are checked as the blocks are read."""
    if len(X.shape) != 2:
        raise ValueError(f"Expected 2D array, got {len(X.shape)}D array instead (shape={X.shape}).")
    n_samples, n_features = (int(v) for v in X.shape)
    dtype = np.dtype(X.dtype)
    if dtype.kind not in "fiub":
        raise ValueError(f"X of dtype {dtype} is not supported: expected numbers.")
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a "
            f"minimum of {ensure_min_samples} is required by {estimator_name}."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            f"is required by {estimator_name}."
        )
    return n_features


def check_sample_weight(sample_weight, n_samples, *, rescale=True):
    """float64 weights of shape (n_samples,), finite, non-negative, not all zero.

    rescale : bool, default=True
        Multiply the weights by a power of two that brings the largest into
        [0.5, 1).  Weights that scale together then give the same fit (and
        the same mean log-likelihood) whatever their scale: weights of 1e-310
        or 1e306 would otherwise underflow or overflow in the statistics.
        The scaling is exact (a power of two), so integer weights still give
        the fit on duplicated rows.
    """
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight) and not isinstance(sample_weight, (str, bytes)):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=np.float64,
        order="C",
        input_name="sample_weight",
    )
    if sample_weight.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got "
            f"{sample_weight.ndim}D array. Expected either a scalar value "
            f"or a 1D array of length {n_samples}."
        )
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected {(n_samples,)}!")
    check_weight_values(bool(np.any(sample_weight < 0)), bool(np.any(sample_weight > 0)))
    if rescale:
        sample_weight = np.ldexp(sample_weight, -weight_exponent(sample_weight.max()))
    return sample_weight


def check_weight_values(any_negative, any_positive):
    """The two rules on sample weights' values, for in-memory and Dask weights."""
    if any_negative:
        raise ValueError("Negative values in data passed to `sample_weight`.")
    if not any_positive:
        raise ValueError("Sample weights must contain at least one non-zero number.")


def weight_exponent(largest):
    """e with largest * 2**-e in [0.5, 1): the exact rescaling of the weights."""
    return int(np.frexp(largest)[1])


# ------------------------------------------------------------------ parameters
# Fitted parameters come from fits, but also from model files and from
# callers of the functional layer: every shape and value a kernel relies on
# is checked here before one runs.


def precision_cholesky_shape(covariance_type, n_components, n_features):
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _finite_array(value, name, shape, what):
    try:
        a = np.asarray(value)
    except Exception:  # ragged nested lists and the like
        raise ValueError(f"{what}{name} is not an array of numbers.") from None
    if a.dtype.kind not in "fiu" or a.dtype == np.float16:
        raise ValueError(f"{what}{name} must hold float32 or float64 numbers, got {a.dtype}.")
    if a.shape != shape:
        raise ValueError(f"{what}{name} has shape {a.shape}, expected {shape}.")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{what}{name} contains NaN or infinity.")
    return a


def check_mixture_parameters(
    weights,
    means,
    precisions_cholesky,
    covariance_type,
    *,
    n_features=None,
    normalized=False,
    what="",
):
    """Weights, means and precision Cholesky factors a kernel can run on.

    Shapes agree with each other (and with ``n_features`` when given), all
    values are finite, weights are non-negative (and sum to one when
    ``normalized``), and the factors are what scikit-learn's
    ``precisions_cholesky_`` is: upper triangular with a positive diagonal
    for 'full' and 'tied', positive for 'diag' and 'spherical'.  Returns the
    three as C-contiguous float64 arrays; raises ValueError naming the
    problem.  ``what`` prefixes the messages (a file name).
    """
    from ._stats import COVARIANCE_TYPES

    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"{what}covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}."
        )
    means_shape = np.shape(means)
    if len(means_shape) != 2 or means_shape[0] < 1 or means_shape[1] < 1:
        raise ValueError(
            f"{what}means must have shape (n_components, n_features), got {means_shape}."
        )
    n_components = means_shape[0]
    if n_features is None:
        n_features = means_shape[1]
    means = _finite_array(means, "means", (n_components, n_features), what)
    weights = _finite_array(weights, "weights", (n_components,), what)
    if np.any(weights < 0):
        raise ValueError(f"{what}weights must be non-negative, got {weights.min()}.")
    if normalized and not abs(weights.sum() - 1.0) <= 1e-5:
        raise ValueError(f"{what}weights must sum to 1, got {weights.sum()}.")
    shape = precision_cholesky_shape(covariance_type, n_components, n_features)
    chol = _finite_array(precisions_cholesky, "precisions_cholesky", shape, what)
    if covariance_type in ("full", "tied"):
        stacked = chol.reshape((-1, n_features, n_features))
        if np.any(np.tril(stacked, -1) != 0):
            raise ValueError(
                f"{what}precisions_cholesky for {covariance_type!r} must be upper "
                "triangular (scikit-learn's precisions_cholesky_)."
            )
        diagonal = np.diagonal(stacked, axis1=1, axis2=2)
    else:
        diagonal = chol
    if not np.all(diagonal > 0):
        raise ValueError(
            f"{what}precisions_cholesky must have a positive "
            f"{'diagonal' if covariance_type in ('full', 'tied') else 'value'} everywhere."
        )
    return weights, means, chol


def check_priors(estimator, n_features):
    """The priors of a BayesianGaussianMixture ``estimator`` given for data of
    ``n_features`` features, checked in scikit-learn's words: a dict of
    float64 values, None where the data decide (the mean and covariance)."""
    n_components = estimator.n_components
    covariance_type = estimator.covariance_type
    concentration = estimator.weight_concentration_prior
    mean_precision = estimator.mean_precision_prior
    mean = estimator.mean_prior
    if mean is not None:
        mean = check_array(mean, dtype=[np.float64, np.float32], ensure_2d=False)
        _check_shape(mean, (n_features,), "means")
        mean = mean.astype(np.float64)
    dof = estimator.degrees_of_freedom_prior
    if dof is None:
        dof = n_features
    elif not dof > n_features - 1.0:
        raise ValueError(
            "The parameter 'degrees_of_freedom_prior' "
            "should be greater than %d, but got %.3f." % (n_features - 1, dof)
        )
    covariance = estimator.covariance_prior
    if covariance is not None:
        if covariance_type in ("full", "tied"):
            covariance = check_array(covariance, dtype=[np.float64, np.float32], ensure_2d=False)
            _check_shape(
                covariance, (n_features, n_features), "%s covariance_prior" % covariance_type
            )
            _check_precision_matrix(covariance, covariance_type)
            covariance = covariance.astype(np.float64)
        elif covariance_type == "diag":
            covariance = check_array(covariance, dtype=[np.float64, np.float32], ensure_2d=False)
            _check_shape(covariance, (n_features,), "%s covariance_prior" % covariance_type)
            if np.any(covariance <= 0.0):
                raise ValueError("'%s precision' should be positive" % covariance_type)
            covariance = covariance.astype(np.float64)
        else:
            covariance = np.asarray(covariance, dtype=np.float64)
            _check_shape(covariance, (), "%s covariance_prior" % covariance_type)
            if not (np.isfinite(covariance) and covariance > 0.0):
                raise ValueError("'%s precision' should be positive" % covariance_type)
            covariance = float(covariance)
    return {
        "weight_concentration_prior_type": estimator.weight_concentration_prior_type,
        "weight_concentration": 1.0 / n_components if concentration is None else concentration,
        "mean_precision": 1.0 if mean_precision is None else mean_precision,
        "mean": mean,
        "degrees_of_freedom": dof,
        "covariance": covariance,
    }
