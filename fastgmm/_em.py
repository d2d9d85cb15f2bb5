"""The EM driver: initialisation, iterations, convergence, restarts.

It asks a source for sufficient statistics and turns them into parameters;
it never touches a data point itself.  Convergence follows scikit-learn: stop
when the mean log-likelihood changes by less than ``tol``.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ._initialization import initial_statistics
from ._mstep import (
    GaussianParameters,
    compute_precision_cholesky,
    covariances_from_cholesky,
    estimate_parameters,
    precision_cholesky_from_precisions,
)


@dataclass
class EMSettings:
    """What the EM loop needs of the estimator's parameters (validated)."""

    n_components: int
    covariance_type: str
    tol: float
    reg_covar: float
    max_iter: int
    n_init: int
    init_params: str
    weights_init: object = None
    means_init: object = None
    precisions_init: object = None
    eps: float = float(np.finfo(np.float64).eps)
    float32_input: bool = False


@dataclass
class EMResult:
    params: GaussianParameters
    lower_bound: float
    lower_bounds: list
    n_iter: int
    converged: bool
    init_time: float = 0.0
    iter_times: list = field(default_factory=list)
    best_init: int = 0


class VerboseReporter:
    """scikit-learn's verbose messages, word for word."""

    def __init__(self, verbose, verbose_interval):
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def init_begin(self, n_init):
        if self.verbose >= 1:
            print("Initialization %d" % n_init)
        self._init_prev_time = self._iter_prev_time = time.time()

    def iterations_begin(self):
        pass  # sklearn's first "time lapse" includes the initialisation

    def iteration_end(self, n_iter, diff_ll, lower_bound):
        if n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            elif self.verbose >= 2:
                cur_time = time.time()
                print(
                    "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                    % (n_iter, cur_time - self._iter_prev_time, diff_ll)
                )
                self._iter_prev_time = cur_time

    def init_end(self, lower_bound, converged):
        converged_msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {converged_msg}.")
        elif self.verbose >= 2:
            t = time.time() - self._init_prev_time
            print(
                f"Initialization {converged_msg}. time lapse {t:.5f}s\t lower bound"
                f" {lower_bound:.5f}."
            )


def m_step(stats, settings):
    """Parameters from statistics: scikit-learn's M-step."""
    # Overflowing data gives inf/NaN statistics: the Cholesky step below turns
    # them into sklearn's "ill-defined empirical covariance" error.
    with np.errstate(over="ignore", invalid="ignore"):
        weights, means, covariances = estimate_parameters(stats, settings.reg_covar, settings.eps)
    precisions_cholesky = compute_precision_cholesky(
        covariances, settings.covariance_type, settings.float32_input
    )
    return GaussianParameters(weights, means, covariances, precisions_cholesky)


def initialize(source, settings, random_state):
    """Initial parameters: the ``*_init`` given, the rest from ``init_params``."""
    s = settings
    stats = None
    if s.weights_init is None or s.means_init is None or s.precisions_init is None:
        stats = initial_statistics(
            source,
            init_params=s.init_params,
            n_components=s.n_components,
            covariance_type=s.covariance_type,
            random_state=random_state,
        )
    return _initial_parameters(stats, settings)


def initialize_from_resp(source, settings, resp):
    """Initial parameters from given responsibilities (n_samples, n_components)
    and the ``*_init`` given."""
    shifts = np.tile(source.weighted_mean(), (settings.n_components, 1))
    stats = source.accumulate_resp(
        lambda start, stop, rows: resp[start:stop], shifts, settings.covariance_type
    )
    return _initial_parameters(stats, settings)


def _initial_parameters(stats, settings):
    s = settings
    weights = means = covariances = None
    if stats is not None:
        weights, means, covariances = estimate_parameters(
            stats, s.reg_covar, s.eps, normalize_weights=False
        )
    if s.weights_init is not None:
        weights = s.weights_init
    if s.means_init is not None:
        means = s.means_init
    if s.precisions_init is None:
        precisions_cholesky = compute_precision_cholesky(
            covariances, s.covariance_type, s.float32_input
        )
    else:
        covariances = None
        precisions_cholesky = precision_cholesky_from_precisions(
            s.precisions_init, s.covariance_type
        )
    return GaussianParameters(weights, means, covariances, precisions_cholesky)


def run_em(source, params, settings, lower_bound, reporter):
    """EM iterations from ``params`` until convergence or ``max_iter``.

    ``lower_bound`` is the previous one (-inf for a fresh start).  Each
    iteration is one pass: the statistics under the current parameters carry
    their mean log-likelihood, which is the lower bound sklearn reports for
    that iteration, and the M-step turns them into the next parameters.
    """
    if settings.max_iter == 0:
        # scikit-learn's max_iter=0: the initialisation is the result, with
        # no lower bound (-inf) and no "converged" message.
        if params.covariances is None:  # precisions_init given
            params = params._replace(
                covariances=covariances_from_cholesky(
                    params.precisions_cholesky, settings.covariance_type
                )
            )
        return EMResult(params, -np.inf, [], 0, False)
    lower_bounds = []
    iter_times = []
    converged = False
    reporter.iterations_begin()
    for n_iter in range(1, settings.max_iter + 1):
        tic = time.perf_counter()
        previous = lower_bound
        stats = source.accumulate(params, settings.covariance_type)
        params = m_step(stats, settings)
        lower_bound = stats.log_likelihood / stats.sum_weight
        lower_bounds.append(lower_bound)
        iter_times.append(time.perf_counter() - tic)
        change = lower_bound - previous
        reporter.iteration_end(n_iter, change, lower_bound)
        if abs(change) < settings.tol:
            converged = True
            break
    reporter.init_end(lower_bound, converged)
    return EMResult(params, lower_bound, lower_bounds, n_iter, converged, 0.0, iter_times)


def fit_mixture(source, settings, random_state, reporter, warm=None):
    """``n_init`` EM runs (one from ``warm=(params, lower_bound)``); the best."""
    n_init = 1 if warm is not None else settings.n_init
    best = None
    for init in range(n_init):
        reporter.init_begin(init)
        tic = time.perf_counter()
        if warm is None:
            params, lower_bound = initialize(source, settings, random_state), -np.inf
        else:
            params, lower_bound = warm
        init_time = time.perf_counter() - tic
        result = run_em(source, params, settings, lower_bound, reporter)
        result.init_time = init_time
        result.best_init = init
        # sklearn's rule: the first run, or a strictly better lower bound
        # (with max_iter=0 every bound is -inf: the last run is kept).
        if best is None or best.lower_bound == -np.inf or (result.lower_bound > best.lower_bound):
            best = result
    return best
