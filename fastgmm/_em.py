"""The EM driver: initialisation, iterations, convergence, restarts, and the
stepwise update behind ``partial_fit``.

It asks a source for sufficient statistics and turns them into parameters;
it never touches a data point itself.  Convergence follows scikit-learn: stop
when the mean log-likelihood changes by less than ``tol``.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ._initialization import initialize
from ._mstep import GaussianParameters, covariances_from_cholesky, m_step


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


def _m_step(stats, settings):
    return m_step(stats, settings.reg_covar, settings.eps, float32_input=settings.float32_input)


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
        params = _m_step(stats, settings)
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


def final_log_likelihood(source, params, covariance_type):
    """(total log-likelihood, total weight) of the rows under ``params``:
    the E-step after the last M-step, which a fit does not otherwise make."""
    stats = source.accumulate(params, covariance_type)
    return stats.log_likelihood, stats.sum_weight


@dataclass
class StreamState:
    """The running statistics of a stream of batches (``partial_fit``)."""

    step: int
    stats: object  # SufficientStatistics, per unit of weight


def stepwise_update(source, params, settings, state, learning_decay, learning_offset):
    """One step of stepwise (online) EM on the batch in ``source``.

    The batch's statistics under ``params``, per unit of weight, are blended
    into the running ones, ``S <- (1 - rho_t) S + rho_t S_batch`` with
    ``rho_t = (t + learning_offset) ** -learning_decay``, after rebasing the
    running statistics onto the batch's shifts (exact), and the M-step runs
    on the blend.  ``state`` is None for the first batch.

    Returns ``(new_params, new_state, batch_mean_log_likelihood)``.
    """
    stats = source.accumulate(params, settings.covariance_type)
    batch = stats.scaled(1.0 / stats.sum_weight)
    if state is None:
        step, running = 1, batch
    else:
        step = state.step + 1
        rho = (step + learning_offset) ** -learning_decay
        running = state.stats.rebased(batch.shifts).scaled(1.0 - rho) + batch.scaled(rho)
    new_params = _m_step(running, settings)
    return new_params, StreamState(step, running), stats.log_likelihood / stats.sum_weight
