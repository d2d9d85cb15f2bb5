"""What both estimators share: data into a source, the fit's skeleton (the
EM driver with the subclass's update rule), and scoring through the kernels.

A subclass (``GaussianMixture``, ``BayesianGaussianMixture``) says what its
model is and how its fitted attributes read and write:

    _model(n_features, dtype)   the update rule of ``_em`` (parameters checked)
    _fitted_state()             the state a warm start continues from
    _scoring_parameters()       what the kernels score new rows with
    _store_parameters(state, dtype), _store_model(model, dtype)
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _persistence, _threads
from ._config import INIT_SAMPLE_ROWS
from ._em import fit_mixture
from ._progress import make_reporter
from ._sources import ArraySource, as_source, is_dask_array, is_row_blocked, with_known_shape
from ._validation import check_rows, check_sample_weight
from ._warmup import ensure_kernels


def _ensure_kernels(source, covariance_type, reporter, estimator=None):
    """Compile the kernels ``source`` will run on first use, timed apart and
    announced (a Dask source runs its kernels on the workers: nothing here).
    With the ``estimator`` that fits, also the k-means kernels, when its
    initialisation runs them (fastgmm's own k-means, beyond
    ``INIT_SAMPLE_ROWS`` rows)."""
    if not isinstance(source, ArraySource):
        return 0.0
    seconds = ensure_kernels(covariance_type, source.dtype, reporter, n_features=source.n_features)
    if estimator is not None and _runs_kmeans(estimator, source.n_samples):
        seconds += ensure_kernels("kmeans", np.float64, reporter)  # float64 for both dtypes
    return seconds


def _runs_kmeans(estimator, n_samples):
    names = ("weights_init", "means_init", "precisions_init")
    given = [getattr(estimator, name, None) for name in names]
    return (
        n_samples > INIT_SAMPLE_ROWS
        and estimator.init_params in ("kmeans", "k-means++")
        and any(g is None for g in given)
    )


class MixtureBase(DensityMixin, BaseEstimator):
    """The methods both mixtures share (not public)."""

    # Sample weights are rescaled by a power of two (exact) where the fit
    # does not depend on their scale (EM); see check_sample_weight.
    _rescale_weights = True

    def _store_model(self, model, dtype):
        """Fitted attributes of the model itself (the priors): none here."""

    def _store_events(self, events):
        """The degenerate components met by the best run: none here."""

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
        return as_source(
            X, sample_weight, chunk_rows=self.chunk_size, rescale_weights=self._rescale_weights
        )

    def _fit(self, X, sample_weight):
        """Validate, run EM (the subclass's model), set the fitted attributes;
        returns the source."""
        source = self._source(X, reset=True, ensure_min_samples=2, sample_weight=sample_weight)
        n_samples, n_features = source.n_samples, source.n_features
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        model = self._model(n_features, source.dtype)  # validates the parameters

        warm = None
        if self.warm_start and hasattr(self, "converged_"):
            warm = (self._fitted_state(), self.lower_bound_)

        reporter = make_reporter(self)
        with _threads.threads(self.n_threads, limit_blas=True, n_rows=n_samples):
            compile_time = _ensure_kernels(source, self.covariance_type, reporter, self)
            model.prepare(source)
            result = fit_mixture(
                source,
                model,
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
        self._store_model(model, source.dtype)
        self._store_parameters(result.params, source.dtype)
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = result.lower_bounds
        self.compile_time_ = compile_time
        self.init_time_ = result.init_time
        self.iter_times_ = result.iter_times
        self.best_init_ = result.best_init
        self._store_events(result.events)
        return source

    # ------------------------------------------------------------- predict

    def _score(self, X, **wanted):
        check_is_fitted(self)
        return self._score_source(self._source(X, reset=False), **wanted)

    def _score_source(
        self, source, *, params=None, log_prob=False, lse=False, labels=False, resp=False
    ):
        """Per-row outputs for the rows of ``source`` under the fitted
        parameters (or ``params``): a dict of the names asked for."""
        params = self._scoring_parameters() if params is None else params
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
    # signatures and results and compute in one pass of the kernels.  Like
    # scikit-learn's they allocate (n_samples, n_components) arrays: fit never
    # calls them.

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
