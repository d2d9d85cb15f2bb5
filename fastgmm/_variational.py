"""The variational mixture's updates (scikit-learn's ``BayesianGaussianMixture``),
from the same sufficient statistics as EM's.  NumPy and SciPy only, on arrays
of size n_components x n_features^2 at most: never a data point here.

The E-step is EM's with other constants per component: with the expected
precision's Cholesky factor ``U_k`` (of ``covariances_``, as scikit-learn
stores it), the kernel's ``log pi_k`` becomes

    E[log pi_k] - d/2 log(nu_k) + 1/2 (E[log det Lambda_k] - d/beta_k)

with ``E[log det Lambda_k] = d log 2 + sum_j digamma((nu_k - j)/2)``
(:func:`e_step_parameters`).  The M-step turns ``N_k``, ``s_k``, ``S_k``
into the posterior's parameters (:func:`variational_m_step`).  The lower bound
needs the responsibilities' entropy, ``-sum w r log r``; with
``log r_nk = log p_nk - log p(x_n)`` and ``log p_nk = log_norm_k - |y_nk|^2/2``
it is, summed over the rows,

    sum_k N_k log_norm_k - 1/2 sum_k sum_n w r_nk |y_nk|^2 - sum_n w log p(x_n)

and the middle sum is ``tr(U_k^T S_k U_k)`` of the statistics about the
E-step's means: the fused pass already has every term
(:func:`responsibility_entropy`).
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import betaln, digamma, gammaln

from ._mstep import (
    GaussianParameters,
    compute_precision_cholesky,
    gaussian_estimates,
    log_det_cholesky,
    unpack_triangle,
)


class VariationalParameters(NamedTuple):
    """The variational posterior, float64, scikit-learn's attributes.

    ``weight_concentration`` is a pair of (n_components,) arrays for the
    Dirichlet process (the Beta parameters of the sticks), one array for the
    Dirichlet distribution; ``degrees_of_freedom`` is a float for 'tied'.
    """

    weight_concentration: object
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: object
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass
class Priors:
    """The priors, as fitted (scikit-learn's ``*_prior_`` attributes), float64."""

    weight_concentration_prior_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray  # (n_features,)
    degrees_of_freedom: float
    covariance: object  # (d, d) full and tied; (d,) diag; float spherical


def default_covariance_prior(covariance_type, n_rows, sums, scatter):
    """scikit-learn's default ``covariance_prior_`` from the statistics of all
    rows with responsibility one about a shift ``c`` (``n_rows = sum w``,
    ``sums = sum w (x - c)``, ``scatter`` as :func:`scatter_shape`):
    ``np.cov(X.T)`` for 'full' and 'tied', ``np.var(X, 0, ddof=1)`` for
    'diag', its mean for 'spherical' (integer weights count as repeated rows).
    """
    if not n_rows > 1.0:
        raise ValueError(
            "covariance_prior=None estimates the prior covariance of the data "
            "(np.cov with ddof=1) and needs sample weights summing to more than 1, "
            f"got {n_rows:g}; give covariance_prior."
        )
    n_features = sums.shape[-1]
    delta = sums[0] / n_rows
    if covariance_type in ("full", "tied"):
        scatter = unpack_triangle(scatter[0], n_features)
        covariance = (scatter - n_rows * np.outer(delta, delta)) / (n_rows - 1.0)
        return np.atleast_2d(covariance)
    if covariance_type == "diag":
        return (scatter[0] - n_rows * delta**2) / (n_rows - 1.0)
    trace = scatter[0, 0] - n_rows * float(delta @ delta)
    return float(trace / (n_rows - 1.0) / n_features)


def _concentration(nk, priors):
    """The posterior of the weights (``weight_concentration_``)."""
    if priors.weight_concentration_prior_type == "dirichlet_process":
        tail = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0))
        return (1.0 + nk, priors.weight_concentration + tail)
    return priors.weight_concentration + nk


def variational_m_step(stats, priors, reg_covar, eps, *, float32_input=False):
    """The posterior's parameters from sufficient statistics: scikit-learn's
    ``_m_step`` (and ``_initialize``, from the initial responsibilities'
    statistics).  Raises scikit-learn's ill-defined-covariance error."""
    covariance_type = stats.covariance_type
    n_components = stats.n_components
    with np.errstate(over="ignore", invalid="ignore"):
        nk, xk, sk = gaussian_estimates(stats, reg_covar, eps)
        concentration = _concentration(nk, priors)
        mean_precision = priors.mean_precision + nk
        means = (priors.mean_precision * priors.mean + nk[:, np.newaxis] * xk) / mean_precision[
            :, np.newaxis
        ]
        diff = xk - priors.mean
        ratio = priors.mean_precision / mean_precision
        if covariance_type == "full":
            dof = priors.degrees_of_freedom + nk
            covariances = (
                priors.covariance
                + nk[:, None, None] * sk
                + (nk * ratio)[:, None, None] * diff[:, :, None] * diff[:, None, :]
            )
            covariances /= dof[:, None, None]
        elif covariance_type == "tied":
            dof = priors.degrees_of_freedom + nk.sum() / n_components
            covariances = (
                priors.covariance
                + sk * nk.sum() / n_components
                + priors.mean_precision
                / n_components
                * np.dot((nk / mean_precision) * diff.T, diff)
            )
            covariances = covariances / dof
        elif covariance_type == "diag":
            dof = priors.degrees_of_freedom + nk
            covariances = priors.covariance + nk[:, None] * (sk + ratio[:, None] * diff**2)
            covariances /= dof[:, None]
        else:
            dof = priors.degrees_of_freedom + nk
            covariances = priors.covariance + nk * (sk + ratio * np.mean(diff**2, axis=1))
            covariances = covariances / dof
    precisions_cholesky = compute_precision_cholesky(covariances, covariance_type, float32_input)
    return VariationalParameters(
        concentration, mean_precision, means, dof, covariances, precisions_cholesky
    )


def expected_log_weights(concentration, prior_type):
    """``E[log pi_k]`` under the posterior of the weights."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        digamma_sum = digamma(a + b)
        return digamma(a) - digamma_sum + np.hstack((0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
    return digamma(concentration) - digamma(np.sum(concentration))


def mixture_weights(concentration, prior_type):
    """``weights_``: the expected weights under the posterior (normalised)."""
    if prior_type == "dirichlet_process":
        a, b = concentration
        total = a + b
        weights = a / total * np.hstack((1, np.cumprod(b[:-1] / total[:-1])))
        return weights / np.sum(weights)
    return concentration / np.sum(concentration)


def _log_lambda(degrees_of_freedom, n_features):
    """``E[log det Lambda] - d log 2 + log det W``'s digamma part, plus ``d log 2``."""
    dof = np.atleast_1d(np.asarray(degrees_of_freedom, dtype=np.float64))
    return n_features * math.log(2.0) + np.sum(
        digamma(0.5 * (dof - np.arange(n_features)[:, np.newaxis])), axis=0
    )


def e_step_parameters(params, prior_type, n_features):
    """What the fused kernel takes for the E-step under the posterior
    ``params``: its means and precision factors, and per component the
    constant in place of ``log pi_k`` (see the module's docstring)."""
    n_components = params.means.shape[0]
    log_weights = (
        expected_log_weights(params.weight_concentration, prior_type)
        - 0.5 * n_features * np.log(params.degrees_of_freedom)
        + 0.5
        * (_log_lambda(params.degrees_of_freedom, n_features) - n_features / params.mean_precision)
    )
    log_weights = np.ascontiguousarray(np.broadcast_to(log_weights, (n_components,)))
    return GaussianParameters(
        np.full(n_components, 1.0 / n_components),
        params.means,
        params.covariances,
        params.precisions_cholesky,
        log_weights,
    )


def responsibility_entropy(stats, kernel_args):
    """``-sum_n w_n sum_k r_nk log r_nk`` of the E-step that gave ``stats``.

    ``kernel_args`` are the arrays that E-step ran with (``prepare``'s, of
    the same parameters: the means and factors as rounded to the data's
    dtype, ``log_norm``; the factors as matrices, ``_kernels.as_matrices``),
    so the identity in the module's docstring holds to the rounding of the
    sums.
    """
    covariance_type = stats.covariance_type
    n_features = stats.n_features
    log_norm = kernel_args[-1]
    if covariance_type == "full":
        lower = np.asarray(kernel_args[1], dtype=np.float64)[:, :n_features, :n_features]
        precision = np.einsum("kai,kaj->kij", lower, lower)
        quadratic = np.einsum("kij,kij->", precision, unpack_triangle(stats.scatter, n_features))
    elif covariance_type == "tied":
        lower = np.asarray(kernel_args[1], dtype=np.float64)[:n_features, :n_features]
        lower_means = np.asarray(kernel_args[2], dtype=np.float64)[:, :n_features]
        scatter = unpack_triangle(stats.scatter[0], n_features)
        # sum_k sum_n w r |L (x - c) - m_k|^2 about the common shift c
        quadratic = (
            np.einsum("ij,ij->", lower.T @ lower, scatter)
            - 2.0 * np.einsum("kd,kd->", stats.sums @ lower.T, lower_means)
            + np.einsum("k,kd,kd->", stats.nk, lower_means, lower_means)
        )
    elif covariance_type == "diag":
        factor = np.asarray(kernel_args[1], dtype=np.float64)
        quadratic = np.einsum("kd,kd->", factor**2, stats.scatter)
    else:
        factor = np.asarray(kernel_args[1], dtype=np.float64)
        quadratic = float(factor**2 @ stats.scatter[:, 0])
    sum_r_log_r = float(stats.nk @ log_norm) - 0.5 * quadratic - stats.log_likelihood
    return -sum_r_log_r


def _log_wishart_norm(dof, log_det_precisions_chol, n_features):
    return -(
        dof * log_det_precisions_chol
        + dof * n_features * 0.5 * math.log(2.0)
        + np.sum(gammaln(0.5 * (dof - np.arange(n_features)[:, np.newaxis])), 0)
    )


def variational_lower_bound(entropy, params, prior_type, covariance_type, n_features):
    """scikit-learn's ``_compute_lower_bound``: the responsibilities' entropy
    (of the E-step) and the posterior ``params`` (of the M-step after it)."""
    n_components = params.means.shape[0]
    dof = params.degrees_of_freedom
    log_det = log_det_cholesky(
        params.precisions_cholesky, covariance_type, n_features
    ) - 0.5 * n_features * np.log(dof)
    if covariance_type == "tied":
        log_wishart = n_components * float(np.squeeze(_log_wishart_norm(dof, log_det, n_features)))
    else:
        log_wishart = float(np.sum(_log_wishart_norm(dof, log_det, n_features)))
    concentration = params.weight_concentration
    if prior_type == "dirichlet_process":
        log_norm_weight = -float(np.sum(betaln(concentration[0], concentration[1])))
    else:
        log_norm_weight = float(gammaln(np.sum(concentration)) - np.sum(gammaln(concentration)))
    return (
        entropy
        - log_wishart
        - log_norm_weight
        - 0.5 * n_features * float(np.sum(np.log(params.mean_precision)))
    )
