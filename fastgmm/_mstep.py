"""From sufficient statistics to parameters, and the small linear algebra
around the precision Cholesky factor.  NumPy only, on arrays of size
n_components x n_features^2 at most: never a data point here.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy import linalg

_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)
_FLOAT32_HINT = (
    " The numerical accuracy can also be improved by passing float64 data instead of float32."
)


class GaussianParameters(NamedTuple):
    """Parameters of a Gaussian mixture, float64, sklearn's shapes.

    ``log_weights`` (n_components,), when given, is the additive term per
    component the E-step uses instead of ``log(weights)``: the variational
    mixture's expected log-weight with its Wishart corrections.  ``weights``
    then only places the shift of 'tied' statistics.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray | None
    precisions_cholesky: np.ndarray
    log_weights: np.ndarray | None = None


def unpack_triangle(packed, n_features):
    """Symmetric matrices from packed upper triangles.

    packed : ndarray of shape (..., n_features * (n_features + 1) // 2)
    returns : ndarray of shape (..., n_features, n_features)
    """
    rows, cols = np.triu_indices(n_features)
    out = np.zeros(packed.shape[:-1] + (n_features, n_features))
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


def estimate_parameters(stats, reg_covar, eps, *, normalize_weights=True):
    """Weights, means and covariances from sufficient statistics.

    normalize_weights : bool
        True: weights = nk / sum(nk) (the M-step).  False: nk / sum(w)
        (scikit-learn's initialisation).
    """
    nk, means, covariances = gaussian_estimates(stats, reg_covar, eps)
    weights = nk / (nk.sum() if normalize_weights else stats.sum_weight)
    return weights, means, covariances


def gaussian_estimates(stats, reg_covar, eps):
    """``(nk, means, covariances)`` from sufficient statistics: scikit-learn's
    ``_estimate_gaussian_parameters``, which both M-steps start from.

    Mirrors scikit-learn's M-step, including its ``nk + 10 eps`` guard against
    empty components (``eps`` of the input dtype).  With ``N = sum w r`` and
    ``nk = N + 10 eps`` the new mean is ``c + delta`` with ``delta = s / nk``,
    and expanding ``sum w r (x - mu)(x - mu)^T`` about the shift gives the
    exact identity::

        sum w r (x - mu)(x - mu)^T = S - (2 nk - N) delta delta^T

    so the covariance comes from centred sums: no cancellation between large
    raw moments.
    """
    covariance_type = stats.covariance_type
    n_features = stats.n_features
    nk = stats.nk + 10 * eps
    delta = stats.sums / nk[:, np.newaxis]
    means = stats.shifts + delta
    excess = 2.0 * nk - stats.nk  # (2 nk - N)

    if covariance_type == "full":
        scatter = unpack_triangle(stats.scatter, n_features)
        scatter -= excess[:, None, None] * delta[:, :, None] * delta[:, None, :]
        covariances = scatter / nk[:, None, None]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    elif covariance_type == "tied":
        scatter = unpack_triangle(stats.scatter[0], n_features)
        scatter -= (excess[:, None] * delta).T @ delta
        covariances = scatter / nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    elif covariance_type == "diag":
        covariances = (stats.scatter - excess[:, None] * delta**2) / nk[:, None]
        covariances += reg_covar
    else:
        sq = stats.scatter[:, 0] - excess * np.einsum("kd,kd->k", delta, delta)
        covariances = sq / nk / n_features + reg_covar
    return nk, means, covariances


def m_step(stats, reg_covar, eps, *, float32_input=False):
    """Parameters from statistics: scikit-learn's M-step.

    Returns GaussianParameters in float64; raises scikit-learn's
    ill-defined-covariance ValueError when a covariance is not positive
    definite (or not finite: overflowing data gives inf/NaN statistics).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        weights, means, covariances = estimate_parameters(stats, reg_covar, eps)
    precisions_cholesky = compute_precision_cholesky(
        covariances, stats.covariance_type, float32_input
    )
    return GaussianParameters(weights, means, covariances, precisions_cholesky)


def compute_precision_cholesky(covariances, covariance_type, float32_input=False):
    """Cholesky factor of the precisions, scikit-learn's convention.

    For ``Sigma = C C^T`` (C lower), ``U = C^{-T}`` is upper triangular and
    ``U U^T = Sigma^{-1}``: the E-step needs only ``U``.
    """
    message = _ILL_DEFINED + (_FLOAT32_HINT if float32_input else "")
    if not np.all(np.isfinite(covariances)):
        raise ValueError(message)
    if covariance_type in ("full", "tied"):
        stacked = covariances if covariance_type == "full" else covariances[None]
        n_features = stacked.shape[-1]
        eye = np.eye(n_features)
        out = np.empty_like(stacked)
        for k, covariance in enumerate(stacked):
            try:
                cov_chol = np.linalg.cholesky(covariance)
            except np.linalg.LinAlgError:
                raise ValueError(message) from None
            if not np.all(np.diag(cov_chol) > 0):
                raise ValueError(message)
            out[k] = linalg.solve_triangular(cov_chol, eye, lower=True).T
        return out if covariance_type == "full" else out[0]
    if np.any(covariances <= 0.0):
        raise ValueError(message)
    return 1.0 / np.sqrt(covariances)


def precision_cholesky_from_precisions(precisions, covariance_type):
    """``U`` upper with ``U U^T = P``, from the precisions themselves.

    With J the exchange matrix, J P J = L L^T (L lower) gives P = (J L J)(J L J)^T
    and J L J is upper triangular.
    """
    if covariance_type == "full":
        flipped = precisions[:, ::-1, ::-1]
        return np.linalg.cholesky(flipped)[:, ::-1, ::-1].copy()
    if covariance_type == "tied":
        return np.linalg.cholesky(precisions[::-1, ::-1])[::-1, ::-1].copy()
    return np.sqrt(precisions)


def precisions_from_cholesky(precisions_cholesky, covariance_type):
    if covariance_type == "full":
        return precisions_cholesky @ precisions_cholesky.transpose(0, 2, 1)
    if covariance_type == "tied":
        return precisions_cholesky @ precisions_cholesky.T
    return precisions_cholesky**2


def covariances_from_cholesky(precisions_cholesky, covariance_type):
    """The covariances ``(U U^T)^{-1} = U^{-T} U^{-1}`` of precision factors ``U``."""
    if covariance_type in ("full", "tied"):
        stacked = precisions_cholesky if covariance_type == "full" else precisions_cholesky[None]
        eye = np.eye(stacked.shape[-1])
        out = np.empty_like(stacked)
        for k, chol in enumerate(stacked):
            inv = linalg.solve_triangular(chol, eye, lower=False)  # U^{-1}
            out[k] = inv.T @ inv
        return out if covariance_type == "full" else out[0]
    return 1.0 / precisions_cholesky**2


def log_det_cholesky(precisions_cholesky, covariance_type, n_features):
    """sum(log diag U) per component: half the log-det of the precision."""
    if covariance_type == "full":
        return np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diag(precisions_cholesky)).sum()
    if covariance_type == "diag":
        return np.log(precisions_cholesky).sum(axis=1)
    return n_features * np.log(precisions_cholesky)


def information_criteria(log_likelihood, n_samples, n_params):
    """(BIC, AIC) from a total log-likelihood over ``n_samples`` (a sum of
    weights when weighted) and the number of free parameters; lower is
    better."""
    bic = -2.0 * log_likelihood + n_params * math.log(n_samples)
    aic = -2.0 * log_likelihood + 2.0 * n_params
    return bic, aic


def n_parameters(covariance_type, n_components, n_features):
    """Free parameters of the model (for BIC and AIC)."""
    cov_params = {
        "full": n_components * n_features * (n_features + 1) / 2.0,
        "diag": n_components * n_features,
        "tied": n_features * (n_features + 1) / 2.0,
        "spherical": n_components,
    }[covariance_type]
    return int(cov_params + n_features * n_components + n_components - 1)
