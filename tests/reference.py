"""Slow, obviously correct references for the kernels and the EM step.

Nothing here is clever: SciPy's multivariate normal log-pdf, SciPy's
logsumexp, explicit loops for the weighted statistics, and textbook two-pass
covariance formulas.  Every fast path in fastgmm is checked against these.
"""

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp, multigammaln
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
    """Textbook two-pass weighted M-step: (weights, means, covariances)."""
    nk, means, covariances = gaussian_estimates(
        X, resp, sample_weight, reg_covar, covariance_type, eps
    )
    return nk / nk.sum(), means, covariances


def gaussian_estimates(X, resp, sample_weight, reg_covar, covariance_type, eps):
    """(N_k, means, covariances), two-pass: means first, then centred covariances.

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
    return nk, means, covariances


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


# ---------------------------------------------------------------- variational
# Bishop's variational updates (PRML 10.2) for a Gaussian mixture with a
# Gaussian-Wishart prior, written with explicit responsibilities and full
# matrices for every covariance type (a diagonal or spherical covariance is a
# full matrix that happens to be diagonal), in scikit-learn's parameters:
# ``covariances_ = W^-1 / nu``.


def variational_priors(X, sample_weight, covariance_type, n_components):
    """scikit-learn's default priors, from the (weighted) data, obviously."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    mean = w @ X / w.sum()
    diff = X - mean
    cov = (w[:, None] * diff).T @ diff / (w.sum() - 1.0)
    covariance = {
        "full": cov,
        "tied": cov,
        "diag": np.diag(cov).copy(),
        "spherical": np.diag(cov).mean(),
    }[covariance_type]
    return dict(
        weight_concentration=1.0 / n_components,
        mean_precision=1.0,
        mean=mean,
        degrees_of_freedom=float(X.shape[1]),
        covariance=covariance,
    )


def _as_matrices(covariances, covariance_type, n_components, n_features):
    return full_covariances(covariances, covariance_type, n_components, n_features)


def variational_m_step(X, resp, sample_weight, priors, covariance_type, prior_type, reg_covar):
    """The posterior from responsibilities: a dict of scikit-learn's names."""
    n_features = X.shape[1]
    n_components = resp.shape[1]
    nk, xk, sk = gaussian_estimates(
        X, resp, sample_weight, reg_covar, covariance_type, np.finfo(np.float64).eps
    )
    if prior_type == "dirichlet_process":
        later = np.array([nk[k + 1 :].sum() for k in range(n_components)])
        concentration = (1.0 + nk, priors["weight_concentration"] + later)
    else:
        concentration = priors["weight_concentration"] + nk
    beta0, m0 = priors["mean_precision"], priors["mean"]
    beta = beta0 + nk
    means = (beta0 * m0 + nk[:, None] * xk) / beta[:, None]
    cov0 = priors["covariance"]
    sk_full = _as_matrices(sk, covariance_type, n_components, n_features)
    if covariance_type == "tied":
        nu = priors["degrees_of_freedom"] + nk.sum() / n_components
        w_inv = cov0 + sk * nk.sum() / n_components
        for k in range(n_components):
            d = xk[k] - m0
            w_inv = w_inv + beta0 * nk[k] / beta[k] / n_components * np.outer(d, d)
        covariances = w_inv / nu
    else:
        nu = priors["degrees_of_freedom"] + nk
        covariances = []
        for k in range(n_components):
            d = xk[k] - m0
            if covariance_type == "full":
                w_inv = cov0 + nk[k] * sk_full[k] + nk[k] * beta0 / beta[k] * np.outer(d, d)
            elif covariance_type == "diag":
                w_inv = cov0 + nk[k] * (sk[k] + beta0 / beta[k] * d**2)
            else:
                w_inv = cov0 + nk[k] * (sk[k] + beta0 / beta[k] * np.mean(d**2))
            covariances.append(w_inv / nu[k])
        covariances = np.array(covariances)
    return dict(
        weight_concentration_=concentration,
        mean_precision_=beta,
        means_=means,
        degrees_of_freedom_=nu,
        covariances_=covariances,
    )


def _expected_log_weights(concentration, prior_type):
    if prior_type == "dirichlet_process":
        a, b = concentration
        log_v = digamma(a) - digamma(a + b)
        log_1mv = digamma(b) - digamma(a + b)
        return np.array([log_v[k] + log_1mv[:k].sum() for k in range(len(a))])
    return digamma(concentration) - digamma(concentration.sum())


def variational_log_rho(X, post, covariance_type, prior_type):
    """log rho_nk of Bishop's (10.46), from E[log pi], E[log |Lambda|] and
    E[(x - m)^T Lambda (x - m)] = d / beta + nu (x - m)^T W (x - m)."""
    X = np.asarray(X, dtype=np.float64)
    n_components, n_features = post["means_"].shape
    covs = _as_matrices(post["covariances_"], covariance_type, n_components, n_features)
    nu = np.broadcast_to(post["degrees_of_freedom_"], (n_components,))
    out = np.empty((len(X), n_components))
    log_pi = _expected_log_weights(post["weight_concentration_"], prior_type)
    for k in range(n_components):
        w = np.linalg.inv(covs[k] * nu[k])  # W_k
        e_log_det = (
            sum(digamma(0.5 * (nu[k] - j)) for j in range(n_features))
            + n_features * np.log(2.0)
            + np.linalg.slogdet(w)[1]
        )
        diff = X - post["means_"][k]
        quad = n_features / post["mean_precision_"][k] + nu[k] * np.einsum(
            "ni,ij,nj->n", diff, w, diff
        )
        out[:, k] = log_pi[k] + 0.5 * e_log_det - 0.5 * n_features * np.log(2 * np.pi) - 0.5 * quad
    return out


def _log_wishart_b(w, nu, n_features):
    # log B(W, nu) without the constant d(d-1)/4 log(pi) (scikit-learn drops it)
    return (
        -0.5 * nu * np.linalg.slogdet(w)[1]
        - 0.5 * nu * n_features * np.log(2.0)
        - (
            multigammaln(0.5 * nu, n_features)
            - 0.25 * n_features * (n_features - 1) * np.log(np.pi)
        )
    )


def variational_lower_bound(resp, sample_weight, post, covariance_type, prior_type):
    """scikit-learn's lower bound: the responsibilities' entropy, minus the
    normalising constants of the Wishart and weight posteriors, minus
    d/2 sum log beta_k."""
    w = np.ones(len(resp)) if sample_weight is None else sample_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        r_log_r = np.where(resp > 0, resp * np.log(resp), 0.0)
    entropy = -np.dot(w, r_log_r.sum(axis=1))
    n_components, n_features = post["means_"].shape
    covs = _as_matrices(post["covariances_"], covariance_type, n_components, n_features)
    nu = np.broadcast_to(post["degrees_of_freedom_"], (n_components,))
    log_wishart = sum(
        _log_wishart_b(np.linalg.inv(covs[k] * nu[k]), nu[k], n_features)
        for k in range(n_components)
    )
    c = post["weight_concentration_"]
    if prior_type == "dirichlet_process":
        log_norm_weight = -np.sum(betaln(c[0], c[1]))
    else:
        log_norm_weight = gammaln(c.sum()) - gammaln(c).sum()
    return (
        entropy
        - log_wishart
        - log_norm_weight
        - 0.5 * n_features * np.sum(np.log(post["mean_precision_"]))
    )


def variational_run(X, sample_weight, resp, covariance_type, prior_type, n_iter, reg_covar=1e-6):
    """``n_iter`` variational iterations after the initialisation from the
    responsibilities ``resp``: (lower bounds per iteration, final posterior)."""
    priors = variational_priors(X, sample_weight, covariance_type, resp.shape[1])
    post = variational_m_step(
        X, resp, sample_weight, priors, covariance_type, prior_type, reg_covar
    )
    bounds = []
    for _ in range(n_iter):
        log_rho = variational_log_rho(X, post, covariance_type, prior_type)
        resp = np.exp(log_rho - logsumexp(log_rho, axis=1)[:, None])
        post = variational_m_step(
            X, resp, sample_weight, priors, covariance_type, prior_type, reg_covar
        )
        bounds.append(
            variational_lower_bound(resp, sample_weight, post, covariance_type, prior_type)
        )
    return bounds, post


def kmeans_plusplus_seeds(X, sample_weight, n_clusters, random_state, n_runs=1):
    """Greedy k-means++ (2 + log K candidates a step, the one of least
    potential kept), ``n_runs`` runs in lockstep drawing run after run within
    each step: (n_runs, n_clusters) row indices.  Exact distances (SciPy)."""
    from scipy.spatial.distance import cdist

    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    trials = 2 + int(np.log(n_clusters))
    seeds = np.empty((n_runs, n_clusters), dtype=np.int64)
    closest = []
    for r in range(n_runs):
        if sample_weight is None:
            seeds[r, 0] = random_state.randint(n)
        else:
            seeds[r, 0] = random_state.choice(n, p=w / w.sum())
        closest.append(cdist(X[[seeds[r, 0]]], X, "sqeuclidean")[0])
    for c in range(1, n_clusters):
        picks = []
        for r in range(n_runs):
            draws = random_state.uniform(size=trials) * (w @ closest[r])
            ids = np.minimum(np.searchsorted(np.cumsum(w * closest[r]), draws), n - 1)
            picks.append(ids)
        for r in range(n_runs):
            ids = picks[r]
            dist = np.minimum(closest[r], cdist(X[ids], X, "sqeuclidean"))
            best = int(np.argmin(dist @ w))
            seeds[r, c] = ids[best]
            closest[r] = dist[best]
    return seeds


def lloyd(X, sample_weight, centres, tol, max_iter=300):
    """Lloyd's iterations: labels by least squared distance (lowest index on
    ties), centres the weighted means; a centre with no rows goes to the rows
    farthest from their centres; stop when no label changes or the centres
    move by at most ``tol`` (squared, summed).  Returns (centres, labels)."""
    from scipy.spatial.distance import cdist

    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    centres = np.array(centres, dtype=np.float64)
    labels = np.full(len(X), -1)
    for _ in range(max_iter):
        dist = cdist(X, centres, "sqeuclidean")
        new_labels = dist.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        new = centres.copy()
        for k in range(len(centres)):
            mine = labels == k
            if w[mine].sum() > 0:
                new[k] = w[mine] @ X[mine] / w[mine].sum()
        empty = [k for k in range(len(centres)) if w[labels == k].sum() == 0]
        if empty:
            far = np.argsort(-dist[np.arange(len(X)), labels], kind="stable")
            new[empty] = X[far[: len(empty)]]
        shift = ((new - centres) ** 2).sum()
        centres = new
        if shift <= tol:
            break
    return centres, labels
