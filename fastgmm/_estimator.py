"""``GaussianMixture``: scikit-learn's estimator contract over fastgmm's EM."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_array, check_random_state

from . import _persistence, _threads
from ._base import MixtureBase, _ensure_kernels
from ._em import EMSettings, MaximumLikelihood, final_log_likelihood, stepwise_update
from ._initialization import initialize, initialize_from_resp
from ._mstep import (
    GaussianParameters,
    information_criteria,
    n_parameters,
    precisions_from_cholesky,
)
from ._progress import make_reporter
from ._validation import (
    PARAMETER_CONSTRAINTS,
    check_means,
    check_precisions,
    check_weights,
)

if TYPE_CHECKING:
    from ._bayesian import BayesianGaussianMixture


class GaussianMixture(MixtureBase):
    """Gaussian mixture fitted by EM, a drop-in for scikit-learn's.

    Same parameters, attributes, methods, warnings and errors as
    :class:`sklearn.mixture.GaussianMixture`, and from the same start the same
    results.  Each EM iteration is one parallel pass over the data that
    computes the responsibilities and accumulates shifted float64 sufficient
    statistics on the fly, so ``fit`` never allocates an
    ``n_samples x n_components`` array and float32 input is never upcast.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.

    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own general covariance matrix;
        'tied': all components share one general covariance matrix;
        'diag': each component has its own diagonal covariance matrix;
        'spherical': each component has its own single variance.

    tol : float, default=1e-3
        Convergence threshold: EM stops when the mean log-likelihood changes
        by less than ``tol`` in an iteration.

    reg_covar : float, default=1e-6
        Non-negative regularization added to the diagonal of covariance.

    max_iter : int, default=100
        The maximum number of EM iterations (at least 1).

    n_init : int, default=1
        The number of initializations to perform. The best result is kept.

    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the initial responsibilities are drawn (scikit-learn's draws).

    weights_init : array-like of shape (n_components,), default=None
        The user-provided initial weights.

    means_init : array-like of shape (n_components, n_features), default=None
        The user-provided initial means.

    precisions_init : array-like, default=None
        The user-provided initial precisions (inverse covariances), of shape
        (n_components,) if 'spherical', (n_features, n_features) if 'tied',
        (n_components, n_features) if 'diag',
        (n_components, n_features, n_features) if 'full'.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and :meth:`sample`.

    warm_start : bool, default=False
        If True, each ``fit`` starts from the solution of the previous one
        (``n_init`` is then ignored after the first fit).

    verbose : int, default=0
        1 prints each initialization and iteration, 2 also the change of the
        log-likelihood and the time.

    verbose_interval : int, default=10
        Iterations between two verbose messages.

    n_threads : int or None, default=None
        Threads for the kernels (None: all that Numba may use).  The result
        does not depend on it, bit for bit.  Keyword-only.

    chunk_size : int or None, default=None
        Rows read at a time (None: about 32 MiB of input, a whole number of
        the kernels' waves).  In-memory arrays are read in place whatever it
        is; memory maps and array-likes (h5py, zarr) hold one chunk in memory.
        Results depend on it only through float64 rounding.  Keyword-only.

    learning_decay : float in (0.5, 1], default=0.7
        kappa in the step size ``rho_t = (t + learning_offset) ** -kappa`` of
        :meth:`partial_fit`: larger forgets the past faster at first and
        averages more later.  Keyword-only.

    learning_offset : float >= 0, default=10.0
        t0 in that step size: larger damps the first batches' steps.
        Keyword-only.

    on_degenerate : {'raise', 'reseed', 'drop'}, default='raise'
        What a fit does when a component degenerates: holds (almost) no
        points ('empty': less than a thousandth of a row's worth of weight),
        or has a covariance that is not positive definite after ``reg_covar``
        ('ill-defined').  'raise' is
        scikit-learn's behaviour and error.  'reseed' moves each such
        component to a row the model explains worst (lowest log-likelihood
        under the iteration's parameters), with the healthy components' mean
        covariance and one row's worth of weight, and EM goes on; a component
        that degenerates a third time is dropped.  'drop' removes such
        components and EM goes on with fewer (``n_components_`` says how many
        remain).  When no component is
        healthy the data are singular at this ``reg_covar`` (a constant
        feature with ``reg_covar=0``): both then raise the fit's
        regularisation to 1e-6 times the data's mean variance.  Every event is
        in ``degenerate_events_``; an iteration with one never counts as
        converged.  ``partial_fit`` keeps 'raise'.  Keyword-only (fastgmm
        only).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The weight of each mixture component (they sum to one).

    means_ : ndarray of shape (n_components, n_features)
        The mean of each mixture component.

    covariances_ : ndarray
        The covariance of each mixture component. Its shape depends on
        ``covariance_type``::

            (n_components,)                        if 'spherical',
            (n_features, n_features)               if 'tied',
            (n_components, n_features)             if 'diag',
            (n_components, n_features, n_features) if 'full'

    precisions_ : ndarray
        The precision matrices (inverses of the covariances) of the
        components, of the same shape as ``covariances_``. A precision is
        what the E-step needs: storing it (through its Cholesky factor) makes
        the log-likelihood of new samples cheap.

    precisions_cholesky_ : ndarray
        The Cholesky factor ``U`` of each precision, upper triangular, with
        ``precision = U U^T``; of the same shape as ``covariances_``. For
        'diag' and 'spherical' it is the square root of the precisions.

    converged_ : bool
        True when the best fit met the convergence criterion (the change of
        the lower bound below ``tol``) before ``max_iter``.

    n_iter_ : int
        Number of EM iterations the best fit took (0 with ``max_iter=0``;
        the number of batches so far after :meth:`partial_fit`).

    lower_bound_ : float
        Mean (weighted) log-likelihood of the training data at the best fit,
        as scikit-learn reports it (-inf with ``max_iter=0``).

    lower_bounds_ : list of float of length ``n_iter_``
        The lower bound at each EM iteration of the best fit.

    compile_time_ : float
        Seconds this fit spent compiling (or loading from the disk cache) the
        kernels, on their first use in the process; 0.0 once they have run
        (fastgmm only).

    init_time_ : float
        Seconds spent initialising the best run (fastgmm only).

    iter_times_ : list of float of length ``n_iter_``
        Seconds per EM iteration of the best run (fastgmm only).

    best_init_ : int
        Which of the ``n_init`` runs was kept, from 0 (fastgmm only).

    n_components_ : int
        The number of components fitted: ``n_components`` unless
        ``on_degenerate`` dropped some (fastgmm only).

    degenerate_events_ : list of DegenerateEvent
        The degenerate components the kept run met, in order: named tuples
        ``(iteration, component, reason, action)``, iteration 0 being the
        initialisation and component -1 the whole mixture (fastgmm only).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.mixture.GaussianMixture : The estimator this one replaces.
    fastgmm.functional : The same kernels for parameters managed elsewhere.
    fastgmm.load : Read a model written by :meth:`save`.

    Notes
    -----
    From the same start (``weights_init``, ``means_init``,
    ``precisions_init``) the fit equals scikit-learn's to 1e-8 relative in
    float64; with the same ``random_state`` each ``init_params`` draws
    scikit-learn's start up to ``2**17`` rows. The differences on purpose
    (sample weights, ``reg_covar=0`` on singular components, float32 kept
    float32) are listed in the README.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_
    array([[10.,  2.],
           [ 1.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]])
    array([1, 0])
    """

    _parameter_constraints: dict = dict(PARAMETER_CONSTRAINTS)

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        chunk_size=None,
        learning_decay=0.7,
        learning_offset=10.0,
        on_degenerate="raise",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.chunk_size = chunk_size
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.on_degenerate = on_degenerate

    # ------------------------------------------------------------------ fit

    def _fit_and_final_log_likelihood(self, X, sample_weight=None):
        """Fit, then the E-step under the stored parameters (model
        selection): their mean log-likelihood per unit of weight."""
        self._validate_params()
        source = self._fit(X, sample_weight)
        with _threads.threads(self.n_threads, limit_blas=True, n_rows=source.n_samples):
            total, weight = final_log_likelihood(
                source, self._fitted_parameters(), self.covariance_type
            )
        return total / weight

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model from one batch by stepwise (online) EM.

        The first call initialises the model from its batch (``init_params``,
        or the ``*_init`` given) and takes one EM step on it.  Each later call
        computes the batch's sufficient statistics under the current
        parameters, per unit of weight, blends them into the running ones,
        ``S <- (1 - rho_t) S + rho_t S_batch`` with the step size
        ``rho_t = (t + learning_offset) ** -learning_decay``, and runs the
        M-step on the blend.  Memory is that of one batch, whatever the length
        of the stream.

        Convergence caveat: stepwise EM converges to a stationary point of the
        likelihood only when the batches are drawn from the same distribution
        (shuffle a sorted stream) and the step sizes shrink (``0.5 <
        learning_decay <= 1``); its solution is close to, not equal to, that
        of ``fit`` on all the data, and a stream whose distribution drifts is
        tracked with a lag set by the step size.  After ``fit``, the next
        ``partial_fit`` starts a new stream from the fitted parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch (a memory map or array-like is read in chunks too).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        first = not hasattr(self, "converged_")
        source = self._source(
            X, reset=first, ensure_min_samples=1 if not first else 2, sample_weight=sample_weight
        )
        n_samples, n_features = source.n_samples, source.n_features
        if first and n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        settings = self._settings(n_features, source.dtype)
        state = getattr(self, "_stream", None)

        with _threads.threads(self.n_threads, limit_blas=True, n_rows=n_samples):
            _ensure_kernels(source, self.covariance_type, make_reporter(self))
            if first:
                params = initialize(source, settings, check_random_state(self.random_state))
            else:
                params = self._fitted_parameters()
            new, state, lower_bound = stepwise_update(
                source, params, settings, state, float(self.learning_decay),
                float(self.learning_offset),
            )  # fmt: skip

        self._stream = state
        self._store_parameters(new, source.dtype)
        self.converged_ = False  # a stream has no convergence test
        self.n_iter_ = state.step
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = list(getattr(self, "lower_bounds_", []))[: state.step - 1] + [
            lower_bound
        ]
        return self

    def _settings(self, n_features, dtype, n_components=None):
        n_components = self.n_components if n_components is None else n_components
        return EMSettings(
            n_components=n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            weights_init=None
            if self.weights_init is None
            else check_weights(self.weights_init, n_components),
            means_init=None
            if self.means_init is None
            else check_means(self.means_init, n_components, n_features),
            precisions_init=None
            if self.precisions_init is None
            else check_precisions(
                self.precisions_init,
                self.covariance_type,
                n_components,
                n_features,
            ),
            eps=float(np.finfo(dtype).eps),
            float32_input=dtype == np.float32,
            on_degenerate=self.on_degenerate,
        )

    def _model(self, n_features, dtype):
        self._stream = None  # a fit, then partial_fit, starts a new stream
        return MaximumLikelihood(self._settings(n_features, dtype))

    def _store_parameters(self, params, dtype):
        """Set the fitted attributes from float64 parameters, in ``dtype``."""
        cast = lambda a: np.asarray(a, dtype=dtype)  # noqa: E731
        self.weights_ = cast(params.weights)
        self.means_ = cast(params.means)
        self.covariances_ = cast(params.covariances)
        self.precisions_cholesky_ = cast(params.precisions_cholesky)
        self.precisions_ = cast(
            precisions_from_cholesky(params.precisions_cholesky, self.covariance_type)
        )

    def _fitted_state(self):
        return self._fitted_parameters()

    def _store_events(self, events):
        self.degenerate_events_ = list(events)
        self.n_components_ = int(np.shape(self.weights_)[0])

    def _scoring_parameters(self):
        return self._fitted_parameters()

    def _fitted_parameters(self):
        """The fitted attributes, in float64, as the kernels take them."""
        as64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        return GaussianParameters(
            as64(self.weights_),
            as64(self.means_),
            None if getattr(self, "covariances_", None) is None else as64(self.covariances_),
            as64(self.precisions_cholesky_),
        )

    # ------------------------------------- scikit-learn's private methods

    def _estimate_log_weights(self):
        """``log(weights_)``, of shape (n_components,)."""
        return np.log(self.weights_)

    def _estimate_log_prob(self, X):
        """``log N(x | mu_k, Sigma_k)``, of shape (n_samples, n_components)."""
        params = self._fitted_parameters()
        unweighted = params._replace(weights=np.ones_like(params.weights))
        return self._score(X, params=unweighted, log_prob=True)["log_prob"]

    def _compute_lower_bound(self, _, log_prob_norm):
        return log_prob_norm

    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params):
        """Set ``(weights, means, covariances, precisions_cholesky)`` and the
        precisions they imply (scikit-learn's signature)."""
        (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_) = params
        self.precisions_ = precisions_from_cholesky(
            np.asarray(self.precisions_cholesky_), self.covariance_type
        ).astype(np.asarray(self.precisions_cholesky_).dtype, copy=False)

    def _initialize(self, X, resp):
        """Parameters from given responsibilities ``resp`` of shape
        (n_samples, n_components), and the ``*_init`` given: scikit-learn's
        initialisation step."""
        source = self._source(X, reset=not hasattr(self, "n_features_in_"))
        resp = check_array(resp, dtype=np.float64)
        if resp.shape[0] != source.n_samples:
            raise ValueError(f"resp has {resp.shape[0]} rows for {source.n_samples} samples.")
        # as scikit-learn's, the number of components is that of resp
        settings = self._settings(source.n_features, source.dtype, resp.shape[1])
        with _threads.threads(self.n_threads, limit_blas=True, n_rows=source.n_samples):
            params = initialize_from_resp(source, settings, resp)
        self._store_parameters(params, source.dtype)

    # -------------------------------------------------------------- others

    def _n_parameters(self):
        n_components, n_features = self.means_.shape
        return n_parameters(self.covariance_type, n_components, n_features)

    def bic(self, X):
        """Bayesian information criterion for the model on X (lower is better).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        n_samples = np.shape(X)[0]
        return information_criteria(self.score(X) * n_samples, n_samples, self._n_parameters())[0]

    def aic(self, X):
        """Akaike information criterion for the model on X (lower is better).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        n_samples = np.shape(X)[0]
        return information_criteria(self.score(X) * n_samples, n_samples, self._n_parameters())[1]


def load(path: str | os.PathLike) -> GaussianMixture | BayesianGaussianMixture:
    """Read a model written by :meth:`GaussianMixture.save` or
    :meth:`BayesianGaussianMixture.save` (the file says which).

    The file is untrusted input: every field is checked against the others
    (shapes, dtypes, finite values, weights summing to one, triangular
    factors with a positive diagonal, the parameters' constraints, the
    variational posterior against its weights) before the model is built.
    Nothing in it is executed (no pickle).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : fastgmm.GaussianMixture or fastgmm.BayesianGaussianMixture
        Fitted, with the saved parameters and attributes.

    Raises
    ------
    ValueError
        If the file is not a fastgmm model file, is truncated or corrupt, or
        its fields disagree; the message names the problem.
    """
    from ._bayesian import BayesianGaussianMixture

    return _persistence.read_model(
        path,
        {"GaussianMixture": GaussianMixture, "BayesianGaussianMixture": BayesianGaussianMixture},
    )
