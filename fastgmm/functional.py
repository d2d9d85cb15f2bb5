"""Functional layer: the estimator's kernels for code that manages its own parameters.

For libraries that keep Gaussian-mixture parameters themselves (HMM
emissions, Fisher-vector encoders, streaming systems): log-probabilities and
responsibilities for given parameters, the sufficient statistics of a batch
(mergeable with ``+``, with sample weights), and the M-step from statistics to
parameters.  These are the very functions :class:`fastgmm.GaussianMixture`
runs.

Shapes follow scikit-learn.  ``precisions_cholesky`` is sklearn's
``precisions_cholesky_``: (n_components, d, d) upper triangular for 'full',
(d, d) for 'tied', (n_components, d) for 'diag', (n_components,) for
'spherical'.  ``X`` is float32 or float64 of shape (n_samples, n_features),
C-contiguous (other input is converted); per-row outputs have X's dtype,
statistics and parameters are float64.

Examples
--------
>>> import numpy as np
>>> from fastgmm import functional as F
>>> X = np.random.default_rng(0).normal(size=(1000, 2))
>>> params = dict(weights=np.array([0.5, 0.5]), means=np.array([[-1., 0.], [1., 0.]]),
...               precisions_cholesky=np.ones((2, 2)), covariance_type="diag")
>>> F.log_prob(X, **params).shape
(1000, 2)
>>> stats = F.sufficient_statistics(X[:500], **params) + F.sufficient_statistics(
...     X[500:], **params)
>>> weights, means, covariances, precisions_cholesky = F.m_step(stats)
>>> bool(np.isclose(weights.sum(), 1.0))
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_array

from . import _mstep, _threads
from ._mstep import GaussianParameters
from ._sources import ArraySource
from ._stats import SufficientStatistics
from ._validation import check_mixture_parameters, check_sample_weight

__all__ = [
    "log_prob",
    "score_samples",
    "responsibilities",
    "sufficient_statistics",
    "m_step",
    "SufficientStatistics",
]


def _prepare(X, weights, means, precisions_cholesky, covariance_type):
    """Checked X and parameters: no kernel runs on shapes that disagree."""
    X = check_array(X, dtype=[np.float64, np.float32], order="C", input_name="X")
    weights, means, precisions_cholesky = check_mixture_parameters(
        weights,
        means,
        precisions_cholesky,
        covariance_type,
        n_features=X.shape[1],
    )
    return X, GaussianParameters(weights, means, None, precisions_cholesky)


def _score(X, weights, means, precisions_cholesky, covariance_type, n_threads, **outputs):
    X, params = _prepare(X, weights, means, precisions_cholesky, covariance_type)
    n_samples, n_components = X.shape[0], params.means.shape[0]
    shapes = {
        "log_prob": (n_samples, n_components),
        "lse": (n_samples,),
        "resp": (n_samples, n_components),
    }
    out = {name: np.empty(shapes[name], dtype=X.dtype) for name in outputs}
    with _threads.threads(n_threads, n_rows=n_samples):
        ArraySource(X).score(params, covariance_type, **out)
    return out


def log_prob(
    X: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    precisions_cholesky: ArrayLike,
    covariance_type: str = "full",
    *,
    n_threads: int | None = None,
) -> np.ndarray:
    """``log pi_k + log N(x | mu_k, Sigma_k)``, of shape (n_samples, n_components)."""
    return _score(
        X, weights, means, precisions_cholesky, covariance_type, n_threads, log_prob=True
    )["log_prob"]


def score_samples(
    X: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    precisions_cholesky: ArrayLike,
    covariance_type: str = "full",
    *,
    n_threads: int | None = None,
) -> np.ndarray:
    """``log p(x)`` of each row, of shape (n_samples,)."""
    return _score(X, weights, means, precisions_cholesky, covariance_type, n_threads, lse=True)[
        "lse"
    ]


def responsibilities(
    X: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    precisions_cholesky: ArrayLike,
    covariance_type: str = "full",
    *,
    n_threads: int | None = None,
) -> np.ndarray:
    """Posterior probabilities ``p(k | x)``, of shape (n_samples, n_components)."""
    return _score(X, weights, means, precisions_cholesky, covariance_type, n_threads, resp=True)[
        "resp"
    ]


def sufficient_statistics(
    X: ArrayLike,
    weights: ArrayLike,
    means: ArrayLike,
    precisions_cholesky: ArrayLike,
    covariance_type: str = "full",
    *,
    sample_weight: ArrayLike | None = None,
    n_threads: int | None = None,
) -> SufficientStatistics:
    """E-step statistics of a batch: a :class:`SufficientStatistics`.

    One pass over X.  The statistics are shifted by the given means (the
    tied ones by the mixture's mean), so batches scored with the same
    parameters add up with ``+``; ``stats.log_likelihood / stats.sum_weight``
    is the batch's mean log-likelihood.
    """
    X, params = _prepare(X, weights, means, precisions_cholesky, covariance_type)
    # the statistics are of the weights as given: no rescaling here
    sample_weight = check_sample_weight(sample_weight, X.shape[0], rescale=False)
    with _threads.threads(n_threads, n_rows=X.shape[0]):
        return ArraySource(X, sample_weight).accumulate(params, covariance_type)


def m_step(
    stats: SufficientStatistics,
    reg_covar: float = 1e-6,
    *,
    eps: float = float(np.finfo(np.float64).eps),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parameters from statistics: scikit-learn's M-step.

    Returns ``(weights, means, covariances, precisions_cholesky)`` in float64.
    ``eps`` is the guard added (times 10) to each component's weight; pass
    ``np.finfo(np.float32).eps`` to mirror scikit-learn on float32 data.
    Raises ValueError when a covariance is not positive definite.
    """
    p = _mstep.m_step(stats, reg_covar, eps)
    return p.weights, p.means, p.covariances, p.precisions_cholesky
