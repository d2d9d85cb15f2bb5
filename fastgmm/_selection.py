"""Model selection: fit a grid of mixtures, rank them by BIC or AIC.

Each candidate is one ordinary fit.  Its criterion comes from that fit's
final E-step (the log-likelihood of the parameters it returns, summed in the
same pass as the statistics), not from a second scoring pass over the data.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._stats import COVARIANCE_TYPES

CRITERIA = ("bic", "aic")


@dataclass
class Selection:
    """The outcome of :func:`select_mixture`.

    Attributes
    ----------
    best : GaussianMixture
        The fitted model with the lowest criterion.
    criterion : str
        'bic' or 'aic'.
    table : list of dict
        One row per candidate, in the order fitted: ``covariance_type``,
        ``n_components``, ``bic``, ``aic``, ``log_likelihood`` (mean per
        unit of weight, under the final parameters), ``n_parameters``,
        ``n_iter``, ``converged``, ``seconds`` and ``model`` (the fitted
        estimator).
    best_index : int
        The best row of ``table``.
    """

    best: object
    criterion: str
    table: list = field(repr=False)
    best_index: int

    @property
    def best_row(self):
        return self.table[self.best_index]

    def __repr__(self):
        row = self.best_row
        return (
            f"Selection(best: n_components={row['n_components']}, "
            f"covariance_type={row['covariance_type']!r}, "
            f"{self.criterion}={row[self.criterion]:.6g}; {len(self.table)} candidates)"
        )


def _component_counts(n_components):
    values = [n_components] if isinstance(n_components, Integral) else list(n_components)
    if not values:
        raise ValueError("n_components must name at least one component count.")
    for k in values:
        if not isinstance(k, Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_components must be integers >= 1, got {k!r}.")
    return [int(k) for k in values]


def _covariance_types(covariance_types):
    if isinstance(covariance_types, str):
        covariance_types = COVARIANCE_TYPES if covariance_types == "all" else [covariance_types]
    types = list(covariance_types)
    if not types:
        raise ValueError("covariance_types must name at least one covariance type.")
    for t in types:
        if t not in COVARIANCE_TYPES:
            raise ValueError(
                f"covariance_types must be among {COVARIANCE_TYPES} (or 'all'), got {t!r}."
            )
    return types


def _total_weight(X, sample_weight):
    n_samples = int(X.shape[0])
    if sample_weight is None:
        return float(n_samples)
    if hasattr(sample_weight, "compute"):  # Dask
        return float(sample_weight.astype(np.float64).sum().compute())
    return float(np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), (n_samples,)).sum())


def select_mixture(
    X,
    n_components=range(1, 11),
    covariance_types="full",
    *,
    criterion="bic",
    sample_weight=None,
    verbose=0,
    callback=None,
    **params,
):
    """Fit a Gaussian mixture for every number of components and covariance
    type given, and keep the one with the lowest BIC (or AIC).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Anything :meth:`GaussianMixture.fit` takes (arrays, memory maps,
        array-likes, Dask arrays).
    n_components : int or iterable of int, default=range(1, 11)
    covariance_types : str or iterable of str, default='full'
        Among 'full', 'tied', 'diag', 'spherical'; 'all' for the four.
    criterion : {'bic', 'aic'}, default='bic'
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows; the criteria then count ``sum(sample_weight)``
        samples, as repeated rows would.
    verbose : int, default=0
        1 prints a line per candidate as it is fitted (to stderr).
    callback : callable, default=None
        Called with each row of the table as soon as its fit ends.
    **params
        Any other :class:`GaussianMixture` parameter (``random_state``,
        ``n_init``, ``max_iter``, ``reg_covar``, ``n_threads``, ...), the
        same for every candidate.  Warnings that a fit did not converge are
        not raised; the table's ``converged`` says it.

    Returns
    -------
    selection : Selection
        ``selection.best`` is the best fitted model, ``selection.table`` the
        criteria of every candidate.

    Notes
    -----
    The criteria equal ``model.bic(X)`` and ``model.aic(X)`` of each fitted
    model (without weights).  They are computed in the fit's final E-step:
    one pass over the data per candidate beyond its EM iterations, the
    pass scikit-learn's own ``fit`` makes too.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import select_mixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 6])
    >>> select_mixture(X, range(1, 5), random_state=0).best.n_components
    2
    """
    from ._estimator import GaussianMixture
    from ._mstep import information_criteria

    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be 'bic' or 'aic', got {criterion!r}.")
    counts = _component_counts(n_components)
    types = _covariance_types(covariance_types)
    for name in ("n_components", "covariance_type"):
        if name in params:
            raise TypeError(f"select_mixture() sets {name} itself; pass n_components= and "
                            "covariance_types= instead.")  # fmt: skip
    total = len(counts) * len(types)
    n = None  # the number of samples the criteria count
    table = []
    for covariance_type in types:
        for k in counts:
            tic = time.perf_counter()
            model = GaussianMixture(n_components=k, covariance_type=covariance_type, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                mean_log_likelihood = model._fit_and_final_log_likelihood(X, sample_weight)
            if n is None:  # the weights have been validated by the first fit
                n = _total_weight(X, sample_weight)
            bic, aic = information_criteria(mean_log_likelihood * n, n, model._n_parameters())
            row = dict(
                covariance_type=covariance_type,
                n_components=k,
                bic=bic,
                aic=aic,
                log_likelihood=mean_log_likelihood,
                n_parameters=int(model._n_parameters()),
                n_iter=model.n_iter_,
                converged=model.converged_,
                seconds=time.perf_counter() - tic,
                model=model,
            )
            table.append(row)
            if verbose:
                print(
                    f"[{len(table)}/{total}] {covariance_type}, {k} components: "
                    f"BIC {bic:.2f}, AIC {aic:.2f}, {row['n_iter']} iterations"
                    f"{'' if row['converged'] else ' (not converged)'}, "
                    f"{row['seconds']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
            if callback is not None:
                callback(row)
    scores = np.array([row[criterion] for row in table])
    best_index = int(np.argmin(scores))  # the first of equals
    return Selection(table[best_index]["model"], criterion, table, best_index)
