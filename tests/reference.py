"""Slow, obviously correct references for the kernels and the EM step.

Nothing here is clever: SciPy's multivariate normal log-pdf, SciPy's
logsumexp, explicit loops for the weighted statistics, and textbook two-pass
covariance formulas.  Every fast path in fastgmm is checked against these.
"""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Every covariance as an (n_components, d, d) stack of full matrices."""
    if covariance_type == "full":
        return np.asarray(covariances, dtype=np.float64)
    if covariance_type == "tied":
        return np.repeat(np.asarray(covariances, dtype=np.float64)[None], n_components, 0)
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in np.asarray(covariances, dtype=np.float64)])
    return np.stack([np.eye(n_features) * c for c in np.asarray(covariances, dtype=np.float64)])


def weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x | mu_k, Sigma_k), shape (n_samples, n_components)."""
    X = np.asarray(X, dtype=np.float64)
    n_components, n_features = np.shape(means)
    covs = full_covariances(covariances, covariance_type, n_components, n_features)
    out = np.empty((X.shape[0], n_components))
    for k in range(n_components):
        out[:, k] = np.log(weights[k]) + multivariate_normal(
            mean=np.asarray(means[k], dtype=np.float64), cov=covs[k]
        ).logpdf(X).reshape(-1)
    return out


def score_samples(X, weights, means, covariances, covariance_type):
    return logsumexp(weighted_log_prob(X, weights, means, covariances, covariance_type), axis=1)


def responsibilities(X, weights, means, covariances, covariance_type):
    wlp = weighted_log_prob(X, weights, means, covariances, covariance_type)
    return np.exp(wlp - logsumexp(wlp, axis=1)[:, None])


def weighted_statistics(X, resp, sample_weight, shifts):
    """Looped statistics: N_k, sum w r (x - c_k), sum w r (x - c_k)(x - c_k)^T."""
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = resp.shape[1]
    w = np.ones(n_samples) if sample_weight is None else sample_weight
    nk = np.zeros(n_components)
    sums = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features))
    for i in range(n_samples):
        for k in range(n_components):
            a = w[i] * resp[i, k]
            v = X[i] - shifts[k]
            nk[k] += a
            sums[k] += a * v
            scatter[k] += a * np.outer(v, v)
    return nk, sums, scatter


def m_step(X, resp, sample_weight, reg_covar, covariance_type, eps=np.finfo(np.float64).eps):
    """Textbook two-pass weighted M-step (means first, then centred covariances).

    The ``10 eps`` added to the component weights is scikit-learn's guard; it
    is kept so results compare at 1e-8.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    w = np.ones(n_samples) if sample_weight is None else sample_weight
    wr = resp * w[:, None]
    nk = wr.sum(axis=0) + 10 * eps
    means = (wr.T @ X) / nk[:, None]
    covs = np.empty((resp.shape[1], n_features, n_features))
    for k in range(resp.shape[1]):
        diff = X - means[k]
        covs[k] = (wr[:, k, None] * diff).T @ diff / nk[k]
    eye = np.eye(n_features)
    if covariance_type == "full":
        covariances = covs + reg_covar * eye
    elif covariance_type == "tied":
        covariances = (covs * nk[:, None, None]).sum(axis=0) / nk.sum() + reg_covar * eye
    elif covariance_type == "diag":
        covariances = np.diagonal(covs, axis1=1, axis2=2) + reg_covar
    else:
        covariances = np.diagonal(covs, axis1=1, axis2=2).mean(axis=1) + reg_covar
    return nk / nk.sum(), means, covariances


def em_step(X, sample_weight, weights, means, covariances, covariance_type, reg_covar):
    """One EM iteration: (mean log-likelihood before, new parameters)."""
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    wlp = weighted_log_prob(X, weights, means, covariances, covariance_type)
    lse = logsumexp(wlp, axis=1)
    resp = np.exp(wlp - lse[:, None])
    return np.dot(w, lse) / w.sum(), m_step(X, resp, sample_weight, reg_covar, covariance_type)


def em_run(X, sample_weight, start, covariance_type, n_iter, reg_covar=1e-6):
    """n_iter reference EM iterations from a ``*_init`` start (sklearn's names).

    Returns (lower bounds per iteration, (weights, means, covariances)).
    """
    params = (
        start["weights_init"],
        start["means_init"],
        precisions(start["precisions_init"], covariance_type),
    )
    bounds = []
    for _ in range(n_iter):
        ll, params = em_step(X, sample_weight, *params, covariance_type, reg_covar)
        bounds.append(ll)
    return bounds, params


def precisions(covariances, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(covariances)
    return 1.0 / np.asarray(covariances)
