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
    # scikit-learn accepts max_iter=0 (initialise only); here a fit always
    # runs at least one EM iteration.
    "max_iter": [Interval(Integral, 1, None, closed="left")],
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
}


def _check_shape(param, param_shape, name):
    if param.shape != param_shape:
        raise ValueError(
            "The parameter '%s' should have the shape of %s, but got %s"
            % (name, param_shape, param.shape)
        )


def check_weights(weights, n_components):
    weights = check_array(
        weights, dtype=[np.float64, np.float32], ensure_2d=False, input_name="weights"
    )
    _check_shape(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range "
            "[0, 1], but got max value %.5f, min value %.5f"
            % (np.min(weights), np.max(weights))
        )
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if not abs(1.0 - float(np.sum(weights))) <= atol:
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = %.5f"
            % np.sum(weights)
        )
    return weights.astype(np.float64)


def check_means(means, n_components, n_features):
    means = check_array(
        means, dtype=[np.float64, np.float32], ensure_2d=False, input_name="means"
    )
    _check_shape(means, (n_components, n_features), "means")
    return means.astype(np.float64)


def _check_precision_matrix(precision, covariance_type):
    if not (
        np.allclose(precision, precision.T)
        and np.all(np.linalg.eigvalsh(precision) > 0.0)
    ):
        raise ValueError(
            "'%s precision' should be symmetric, positive-definite" % covariance_type
        )


def check_precisions(precisions, covariance_type, n_components, n_features):
    precisions = check_array(
        precisions,
        dtype=[np.float64, np.float32],
        ensure_2d=False,
        allow_nd=covariance_type == "full",
        input_name="precisions",
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


def check_sample_weight(sample_weight, n_samples):
    """float64 weights of shape (n_samples,), finite, non-negative, not all zero."""
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
        raise ValueError(
            "sample_weight.shape == {}, expected {}!".format(
                sample_weight.shape, (n_samples,)
            )
        )
    if np.any(sample_weight < 0):
        raise ValueError("Negative values in data passed to `sample_weight`.")
    if not np.any(sample_weight > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight
