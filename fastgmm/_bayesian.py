"""``BayesianGaussianMixture``: scikit-learn's variational mixture over the
same fused kernels as EM (its E-step is EM's with other constants per
component, its M-step consumes the same statistics; see ``_variational``)."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from . import _threads
from ._base import MixtureBase, _ensure_kernels
from ._em import EMSettings, Variational
from ._mstep import precisions_from_cholesky
from ._progress import make_reporter
from ._validation import BAYESIAN_PARAMETER_CONSTRAINTS, check_priors
from ._variational import (
    Priors,
    VariationalParameters,
    e_step_parameters,
    expected_log_weights,
    mixture_weights,
)


class BayesianGaussianMixture(MixtureBase):
    """Variational Bayesian Gaussian mixture, a drop-in for scikit-learn's.

    Same parameters, attributes, methods, warnings and errors as
    :class:`sklearn.mixture.BayesianGaussianMixture`, and from the same start
    the same results.  Each iteration is one parallel pass of the same fused
    kernel as :class:`fastgmm.GaussianMixture` (responsibilities computed
    on the fly, shifted float64 statistics), so ``fit`` never allocates an
    ``n_samples x n_components`` array and float32 input is never upcast.

    The weights have a Dirichlet-process (stick-breaking) or Dirichlet prior,
    each component's mean and precision a Gaussian-Wishart prior; the
    variational posterior lets components that the data do not need fall to
    weights near zero, so ``n_components`` is an upper bound.

    Parameters
    ----------
    n_components : int, default=1
        The largest number of mixture components the fit may use.

    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        As in :class:`fastgmm.GaussianMixture`.

    tol : float, default=1e-3
        Convergence threshold: EM stops when the lower bound (of the evidence,
        summed over the samples) changes by less than ``tol``.

    reg_covar : float, default=1e-6
        Non-negative regularization added to the diagonal of the covariances
        estimated from the data.

    max_iter : int, default=100
        The number of EM iterations to perform.

    n_init : int, default=1
        The number of initializations to perform; the one with the largest
        lower bound is kept.

    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the initial responsibilities are drawn (scikit-learn's draws).

    weight_concentration_prior_type : {'dirichlet_process', \
'dirichlet_distribution'}, default='dirichlet_process'
        The prior on the weights: an infinite mixture model with the
        stick-breaking representation, or a finite Dirichlet distribution.

    weight_concentration_prior : float or None, default=None
        The Dirichlet concentration of each component on the weights (gamma
        for the process, alpha for the distribution); None means
        ``1. / n_components``.  Higher values put more mass in the middle of
        the simplex and let more components be active.

    mean_precision_prior : float or None, default=None
        The precision prior on the means (beta_0); None means 1.  Larger
        values concentrate the means around ``mean_prior``.

    mean_prior : array-like of shape (n_features,), default=None
        The prior on the means (m_0); None means the mean of X.

    degrees_of_freedom_prior : float or None, default=None
        The prior of the number of degrees of freedom of the Wishart
        distributions (nu_0), greater than ``n_features - 1``; None means
        ``n_features``.

    covariance_prior : float or array-like, default=None
        The prior on the covariances (W_0^{-1}): None means the covariance of
        X (``np.cov(X.T)`` for 'full' and 'tied', its diagonal for 'diag',
        the mean of that for 'spherical'); otherwise of shape
        (n_features, n_features) for 'full' and 'tied', (n_features,) for
        'diag', a float for 'spherical'.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and :meth:`sample`.

    warm_start : bool, default=False
        If True, each ``fit`` starts from the solution of the previous one.

    verbose : int, default=0
        1 prints each initialization and iteration, 2 also the change of the
        lower bound and the time.

    verbose_interval : int, default=10
        Iterations between two verbose messages.

    n_threads : int or None, default=None
        Threads for the kernels (None: all that Numba may use).  The result
        does not depend on it, bit for bit.  Keyword-only (fastgmm only).

    chunk_size : int or None, default=None
        Rows read at a time from memory maps and array-likes (None: about
        32 MiB of input).  Keyword-only (fastgmm only).

    on_degenerate : {'raise', 'reseed', 'drop'}, default='raise'
        The covariances are positive definite whenever the covariance prior
        is.  The default prior, the data's covariance, is singular for
        singular data (a constant feature), and with ``reg_covar=0`` every
        component's covariance is then singular: 'raise' gives
        scikit-learn's error; 'reseed' and 'drop' both raise the fit's
        regularisation to 1e-6 times the data's mean variance, an event in
        ``degenerate_events_``.  Components that fall empty are this model's
        answer (its prior prunes them), not an event.  Keyword-only (fastgmm
        only).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The expected weight of each component under the posterior.

    means_ : ndarray of shape (n_components, n_features)
        The mean of each component (the posterior's m_k).

    covariances_ : ndarray
        The covariance of each component, ``W_k^{-1} / nu_k``, of shape
        (n_components,) for 'spherical', (n_features, n_features) for 'tied',
        (n_components, n_features) for 'diag',
        (n_components, n_features, n_features) for 'full'.

    precisions_ : ndarray
        The precisions (inverses of ``covariances_``), the same shape.

    precisions_cholesky_ : ndarray
        The Cholesky factor ``U`` of each precision, upper triangular, with
        ``precision = U U^T``; the same shape (the square roots for 'diag'
        and 'spherical').

    weight_concentration_prior_ : float
        The prior on the weights, as used.

    weight_concentration_ : ndarray of shape (n_components,) or tuple
        The posterior's concentration on the weights: for the Dirichlet
        process a tuple of two (n_components,) arrays (the Beta
        distributions' parameters), for the Dirichlet distribution one array.

    mean_precision_prior_ : float
        The precision prior on the means, as used.

    mean_precision_ : ndarray of shape (n_components,)
        The posterior's precision of each mean (beta_k).

    mean_prior_ : ndarray of shape (n_features,)
        The prior on the means, as used.

    degrees_of_freedom_prior_ : float
        The prior of the Wishart degrees of freedom, as used.

    degrees_of_freedom_ : ndarray of shape (n_components,) or float
        The posterior's degrees of freedom of each component (one float for
        'tied').

    covariance_prior_ : float or ndarray
        The prior on the covariances, as used: of shape
        (n_features, n_features) for 'full' and 'tied', (n_features,) for
        'diag', a float for 'spherical'.

    converged_ : bool
        True when the best fit met the convergence criterion before
        ``max_iter``.

    n_iter_ : int
        Number of iterations the best fit took.

    lower_bound_ : float
        The lower bound on the evidence of the training data at the best fit
        (summed over the samples, as scikit-learn's).

    lower_bounds_ : list of float of length ``n_iter_``
        The lower bound at each iteration of the best fit.

    compile_time_, init_time_, iter_times_, best_init_, degenerate_events_ :
        As in :class:`fastgmm.GaussianMixture` (fastgmm only).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.mixture.BayesianGaussianMixture : The estimator this one replaces.
    fastgmm.GaussianMixture : The maximum-likelihood mixture.

    Notes
    -----
    From the same start the fit equals scikit-learn's to 1e-8 relative in
    float64.  Beyond scikit-learn: ``sample_weight`` in ``fit`` (an integer
    weight counts as that many copies of the row; the weights are not
    rescaled, since the counts meet the priors), memory maps, array-likes
    and Dask arrays, ``n_threads`` and ``chunk_size``, :meth:`save`.  All
    fitted attributes are float64, as scikit-learn's are.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.means_.round(2)
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    >>> bgm.predict([[0, 0], [9, 3]])
    array([0, 1])
    """

    _parameter_constraints: dict = dict(BAYESIAN_PARAMETER_CONSTRAINTS)
    # the counts meet the priors: weights keep their scale
    _rescale_weights = False

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
        chunk_size=None,
        on_degenerate="raise",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.chunk_size = chunk_size
        self.on_degenerate = on_degenerate

    # ------------------------------------------------------------ the model

    def _model(self, n_features, dtype):
        settings = EMSettings(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            eps=float(np.finfo(dtype).eps),
            float32_input=dtype == np.float32,
            on_degenerate=self.on_degenerate,
        )
        float32_hint = (
            settings.float32_input
            and self.covariance_type in ("diag", "spherical")
            and self.covariance_prior is None
        )
        return Variational(settings, Priors(**check_priors(self, n_features)), float32_hint)

    def _store_events(self, events):
        self.degenerate_events_ = list(events)

    def _store_model(self, model, dtype):
        priors = model.priors
        self.weight_concentration_prior_ = priors.weight_concentration
        self.mean_precision_prior_ = priors.mean_precision
        self.mean_prior_ = priors.mean
        self.degrees_of_freedom_prior_ = priors.degrees_of_freedom
        self.covariance_prior_ = priors.covariance

    def _store_parameters(self, posterior, dtype):
        """Set the fitted attributes from the posterior (float64, as
        scikit-learn's whatever the input dtype)."""
        p = posterior
        if self.weight_concentration_prior_type == "dirichlet_process":
            self.weight_concentration_ = tuple(
                np.asarray(a, np.float64) for a in p.weight_concentration
            )
        else:
            self.weight_concentration_ = np.asarray(p.weight_concentration, np.float64)
        self.mean_precision_ = np.asarray(p.mean_precision, np.float64)
        self.means_ = np.asarray(p.means, np.float64)
        if self.covariance_type == "tied":
            self.degrees_of_freedom_ = float(p.degrees_of_freedom)
        else:
            self.degrees_of_freedom_ = np.asarray(p.degrees_of_freedom, np.float64)
        self.covariances_ = np.asarray(p.covariances, np.float64)
        self.precisions_cholesky_ = np.asarray(p.precisions_cholesky, np.float64)
        self.weights_ = mixture_weights(
            self.weight_concentration_, self.weight_concentration_prior_type
        )
        self.precisions_ = precisions_from_cholesky(self.precisions_cholesky_, self.covariance_type)

    def _fitted_state(self):
        """The fitted posterior, as the updates take it."""
        concentration = self.weight_concentration_
        if self.weight_concentration_prior_type == "dirichlet_process":
            concentration = tuple(np.asarray(a, np.float64) for a in concentration)
        else:
            concentration = np.asarray(concentration, np.float64)
        dof = self.degrees_of_freedom_
        return VariationalParameters(
            concentration,
            np.asarray(self.mean_precision_, np.float64),
            np.asarray(self.means_, np.float64),
            float(dof) if np.ndim(dof) == 0 else np.asarray(dof, np.float64),
            np.asarray(self.covariances_, np.float64),
            np.asarray(self.precisions_cholesky_, np.float64),
        )

    def _scoring_parameters(self):
        return e_step_parameters(
            self._fitted_state(), self.weight_concentration_prior_type, self.means_.shape[1]
        )

    # ------------------------------------- scikit-learn's private methods

    def _estimate_log_weights(self):
        """``E[log pi_k]`` under the posterior, of shape (n_components,)."""
        return expected_log_weights(
            self._fitted_state().weight_concentration, self.weight_concentration_prior_type
        )

    def _estimate_log_prob(self, X):
        """The expected log-density of each component (without
        ``E[log pi_k]``), of shape (n_samples, n_components)."""
        return self._estimate_weighted_log_prob(X) - self._estimate_log_weights()

    def _get_parameters(self):
        return (
            self.weight_concentration_,
            self.mean_precision_,
            self.means_,
            self.degrees_of_freedom_,
            self.covariances_,
            self.precisions_cholesky_,
        )

    def _set_parameters(self, params):
        """Set scikit-learn's six posterior attributes, and the weights and
        precisions they imply."""
        self._store_parameters(VariationalParameters(*params), np.float64)

    def _check_parameters(self, X):
        """Check the priors against X and set the ``*_prior_`` attributes
        (scikit-learn's step before the initialisation)."""
        self._validate_params()
        source = self._source(X, reset=not hasattr(self, "n_features_in_"))
        model = self._model(source.n_features, source.dtype)
        with _threads.threads(self.n_threads, limit_blas=True, n_rows=source.n_samples):
            _ensure_kernels(source, self.covariance_type, make_reporter(self))
            model.prepare(source)
        self._store_model(model, source.dtype)

    def _initialize_parameters(self, X, random_state):
        """The initial posterior from ``init_params`` (after
        :meth:`_check_parameters`): scikit-learn's initialisation step."""
        source = self._source(X, reset=False)
        model = self._model(source.n_features, source.dtype)
        model.priors = self._fitted_priors()
        with _threads.threads(self.n_threads, limit_blas=True, n_rows=source.n_samples):
            posterior = model.initialize(source, check_random_state(random_state))
        self._store_parameters(posterior, source.dtype)

    def _fitted_priors(self):
        return Priors(
            self.weight_concentration_prior_type,
            self.weight_concentration_prior_,
            self.mean_precision_prior_,
            np.asarray(self.mean_prior_, dtype=np.float64),
            self.degrees_of_freedom_prior_,
            self.covariance_prior_,
        )
