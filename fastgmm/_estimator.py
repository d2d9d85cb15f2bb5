"""``GaussianMixture``: scikit-learn's estimator contract over fastgmm's EM."""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _persistence, _threads
from ._em import EMSettings, final_log_likelihood, fit_mixture, stepwise_update
from ._initialization import initialize, initialize_from_resp
from ._mstep import (
    GaussianParameters,
    information_criteria,
    n_parameters,
    precisions_from_cholesky,
)
from ._progress import make_reporter
from ._sources import ArraySource, as_source, is_dask_array, is_row_blocked, with_known_shape
from ._validation import (
    PARAMETER_CONSTRAINTS,
    check_means,
    check_precisions,
    check_rows,
    check_sample_weight,
    check_weights,
)
from ._warmup import ensure_kernels


def _ensure_kernels(source, covariance_type, reporter):
    """Compile the kernels ``source`` will run on first use, timed apart and
    announced (a Dask source runs its kernels on the workers: nothing here)."""
    if not isinstance(source, ArraySource):
        return 0.0
    return ensure_kernels(covariance_type, source.dtype, reporter)


class GaussianMixture(DensityMixin, BaseEstimator):
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

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate model parameters with the EM algorithm.

        Fits ``n_init`` times and keeps the run with the largest lower bound.
        Each run iterates until the mean log-likelihood changes by less than
        ``tol``, or ``max_iter`` iterations; otherwise a
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, float32 or float64 (other numeric dtypes are
            converted to float64).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight counts as that many copies of the
            row (an integer weight gives the fit on duplicated rows, a zero
            weight the fit without the row).

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self._fit(X, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model to X and return the most likely component of each row.

        Equal to ``fit(X).predict(X)`` for any ``max_iter`` and ``tol``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        source = self._fit(X, sample_weight)
        # One more E-step under the stored parameters, so that the labels are
        # those of fit(X).predict(X) whatever max_iter and tol.
        return self._score_source(source, labels=True)["labels"]

    def _source(self, X, *, reset, sample_weight=None, ensure_min_samples=1):
        """Validate X and wrap it in the source the kernels read.

        In-memory data goes through scikit-learn's validation (its errors),
        read in place when it is C-contiguous float32/float64.  Memory maps,
        row-sliceable array-likes (h5py, zarr) and Dask arrays are never
        loaded whole: their shape and dtype are checked here, their values
        chunk by chunk.
        """
        if not (is_dask_array(X) or is_row_blocked(X)):
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=[np.float64, np.float32],
                order="C",
                ensure_min_samples=ensure_min_samples,
            )
        else:
            X = with_known_shape(X)
            n_features = check_rows(
                X, ensure_min_samples=ensure_min_samples, estimator_name=type(self).__name__
            )
            if reset:
                self.n_features_in_ = n_features
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        return as_source(X, sample_weight, chunk_rows=self.chunk_size)

    def _fit(self, X, sample_weight):
        """Validate, run EM, set the fitted attributes; returns the source."""
        source = self._source(X, reset=True, ensure_min_samples=2, sample_weight=sample_weight)
        self._stream = None  # partial_fit after fit starts a new stream
        n_samples, n_features = source.n_samples, source.n_features
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        settings = self._settings(n_features, source.dtype)

        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            warm = (self._fitted_parameters(), self.lower_bound_)

        reporter = make_reporter(self)
        with _threads.threads(self.n_threads, limit_blas=True, n_rows=n_samples):
            compile_time = _ensure_kernels(source, self.covariance_type, reporter)
            result = fit_mixture(
                source,
                settings,
                check_random_state(self.random_state),
                reporter,
                warm=warm,
            )

        # As scikit-learn: max_iter=0 asks for the initialisation, no warning.
        if not result.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. "
                "Try different init parameters, or increase max_iter, "
                "tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._store_parameters(result.params, source.dtype)
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = result.lower_bounds
        self.compile_time_ = compile_time
        self.init_time_ = result.init_time
        self.iter_times_ = result.iter_times
        self.best_init_ = result.best_init
        return source

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
        )

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

    def _fitted_parameters(self):
        """The fitted attributes, in float64, as the kernels take them."""
        as64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        return GaussianParameters(
            as64(self.weights_),
            as64(self.means_),
            None if getattr(self, "covariances_", None) is None else as64(self.covariances_),
            as64(self.precisions_cholesky_),
        )

    # ------------------------------------------------------------- predict

    def _score(self, X, **wanted):
        check_is_fitted(self)
        return self._score_source(self._source(X, reset=False), **wanted)

    def _score_source(
        self, source, *, params=None, log_prob=False, lse=False, labels=False, resp=False
    ):
        """Per-row outputs for the rows of ``source`` under the fitted
        parameters (or ``params``): a dict of the names asked for."""
        params = self._fitted_parameters() if params is None else params
        wanted = {"log_prob": log_prob, "lse": lse, "labels": labels, "resp": resp}
        if not isinstance(source, ArraySource):  # Dask: lazy, block by block
            n_components = np.shape(params.means)[0]
            return {
                name: source.score_lazy(params, self.covariance_type, name, n_components)
                for name, flag in wanted.items()
                if flag
            }
        n_samples, dtype = source.n_samples, source.dtype
        n_components = np.shape(params.means)[0]
        shapes = {
            "log_prob": (n_samples, n_components),
            "lse": (n_samples,),
            "labels": (n_samples,),
            "resp": (n_samples, n_components),
        }
        out = {
            name: np.empty(shapes[name], dtype=np.int64 if name == "labels" else dtype)
            for name, flag in wanted.items()
            if flag
        }
        with _threads.threads(self.n_threads, n_rows=n_samples):
            _ensure_kernels(source, self.covariance_type, make_reporter(self))
            source.score(params, self.covariance_type, **out)
        return out

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        return self._score(X, lse=True)["lse"]

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the samples (weighted by ``sample_weight``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_likelihood : float
        """
        log_prob = self.score_samples(X)
        if is_dask_array(log_prob):
            from ._sources._dask import check_dask_sample_weight, weighted_mean

            w = check_dask_sample_weight(sample_weight, log_prob.shape[0])
            return weighted_mean(log_prob, w)
        sample_weight = check_sample_weight(sample_weight, log_prob.shape[0])
        if sample_weight is None:
            # scikit-learn's mean, in the dtype of the scores
            return float(np.mean(log_prob))
        return float(np.dot(sample_weight, log_prob) / sample_weight.sum())

    def predict(self, X):
        """Most likely component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._score(X, labels=True)["labels"]

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        return self._score(X, resp=True)["resp"]

    # ------------------------------------- scikit-learn's private methods
    # Code written against scikit-learn calls a few of its private methods
    # (third-party HMM, clustering and outlier libraries do).  These have its
    # signatures and results; the ones that read the fitted model compute in
    # one pass of the kernels.  Like scikit-learn's they allocate
    # (n_samples, n_components) arrays: fit never calls them.

    def _estimate_log_weights(self):
        """``log(weights_)``, of shape (n_components,)."""
        return np.log(self.weights_)

    def _estimate_log_prob(self, X):
        """``log N(x | mu_k, Sigma_k)``, of shape (n_samples, n_components)."""
        params = self._fitted_parameters()
        unweighted = params._replace(weights=np.ones_like(params.weights))
        return self._score(X, params=unweighted, log_prob=True)["log_prob"]

    def _estimate_weighted_log_prob(self, X):
        """``log pi_k + log N(x | mu_k, Sigma_k)``, of shape (n_samples, n_components)."""
        return self._score(X, log_prob=True)["log_prob"]

    def _estimate_log_prob_resp(self, X):
        """``(log p(x), log responsibilities)``, of shapes (n_samples,) and
        (n_samples, n_components)."""
        out = self._score(X, log_prob=True, lse=True)
        log_prob_norm, log_resp = out["lse"], out["log_prob"]
        with np.errstate(under="ignore", invalid="ignore"):
            log_resp -= log_prob_norm[:, np.newaxis]
        return log_prob_norm, log_resp

    def _e_step(self, X):
        """``(mean log p(x), log responsibilities)``: scikit-learn's E-step."""
        log_prob_norm, log_resp = self._estimate_log_prob_resp(X)
        return np.mean(log_prob_norm), log_resp

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

    def __setstate__(self, state):
        # A scikit-learn GaussianMixture pickled without fastgmm's own
        # parameters, unpickled while patch_sklearn() is active, becomes this
        # class: give it those parameters' defaults.
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.default is not inspect.Parameter.empty:
                state.setdefault(name, param.default)
        super().__setstate__(state)

    # -------------------------------------------------------------- others

    def sample(self, n_samples=1):
        """Draw random samples from the fitted mixture.

        Uses ``random_state`` as scikit-learn does, so the same seed draws the
        same points.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component labels.
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(
                "Invalid value for 'n_samples': %d . The sampling requires at "
                "least one sample." % (self.n_components)
            )
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        if self.covariance_type == "full":
            parts = [
                rng.multivariate_normal(mean, covariance, int(count))
                for mean, covariance, count in zip(self.means_, self.covariances_, counts)
            ]
        elif self.covariance_type == "tied":
            parts = [
                rng.multivariate_normal(mean, self.covariances_, int(count))
                for mean, count in zip(self.means_, counts)
            ]
        else:
            parts = [
                mean + rng.standard_normal(size=(count, n_features)) * np.sqrt(covariance)
                for mean, covariance, count in zip(self.means_, self.covariances_, counts)
            ]
        X = np.vstack(parts).astype(np.float64, copy=False)
        y = np.concatenate(
            [np.full(int(count), k, dtype=np.int64) for k, count in enumerate(counts)]
        )
        return X, y

    def save(self, path):
        """Save the fitted model to a portable ``.npz`` file (no pickle).

        Read it back with :func:`fastgmm.load`.  The file records its format
        version; a fastgmm older than the file says so instead of guessing.

        Parameters
        ----------
        path : str or path-like
        """
        _persistence.save(self, path)

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


def load(path: str | os.PathLike) -> GaussianMixture:
    """Read a model written by :meth:`GaussianMixture.save`.

    The file is untrusted input: every field is checked against the others
    (shapes, dtypes, finite values, weights summing to one, triangular
    factors with a positive diagonal, the parameters' constraints) before
    the model is built.  Nothing in it is executed (no pickle).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : fastgmm.GaussianMixture
        Fitted, with the saved parameters and attributes.

    Raises
    ------
    ValueError
        If the file is not a fastgmm model file, is truncated or corrupt, or
        its fields disagree; the message names the problem.
    """
    return _persistence.read_model(path, GaussianMixture)
