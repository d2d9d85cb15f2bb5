"""Built-in synthetic data: draws from a known Gaussian mixture."""

import numpy as np


def make_gaussian_mixture(
    n_samples=1_000_000,
    n_features=8,
    n_components=8,
    *,
    separation=8.0,
    dtype=np.float64,
    random_state=0,
):
    """Rows drawn from a random Gaussian mixture with full covariances.

    Parameters
    ----------
    n_samples, n_features, n_components : int
    separation : float, default=8.0
        Scale of the spread of the means, in units of the components' width.
    dtype : {np.float64, np.float32}, default=np.float64
    random_state : int, default=0

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        The component each row was drawn from.
    params : dict
        The true ``weights``, ``means`` and ``covariances``.

    Examples
    --------
    >>> from fastgmm.datasets import make_gaussian_mixture
    >>> X, labels, params = make_gaussian_mixture(1000, 2, 3)
    >>> X.shape, params["means"].shape
    ((1000, 2), (3, 2))
    """
    rng = np.random.default_rng(random_state)
    weights = rng.dirichlet(np.full(n_components, 4.0))
    means = rng.normal(scale=separation, size=(n_components, n_features))
    factors = rng.normal(size=(n_components, n_features, n_features)) / np.sqrt(n_features)
    covariances = factors @ factors.transpose(0, 2, 1) + 0.2 * np.eye(n_features)
    chol = np.linalg.cholesky(covariances)
    labels = rng.choice(n_components, size=n_samples, p=weights)
    X = np.empty((n_samples, n_features), dtype=dtype)
    step = 1 << 16  # bounded temporaries, whatever n_samples
    for start in range(0, n_samples, step):
        lab = labels[start : start + step]
        z = rng.standard_normal((len(lab), n_features))
        X[start : start + step] = means[lab] + np.einsum("nij,nj->ni", chol[lab], z)
    return X, labels, {"weights": weights, "means": means, "covariances": covariances}
