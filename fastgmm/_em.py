"""The EM driver: initialisation, iterations, convergence, restarts, and the
stepwise update behind ``partial_fit``; for maximum likelihood (EM) and the
variational posterior alike, which differ only in their update rule.

It asks a source for sufficient statistics and turns them into parameters;
it never touches a data point itself.  Convergence follows scikit-learn: stop
when the mean log-likelihood changes by less than ``tol``.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ._degenerate import REGULARISATION, DegenerateEvent, Repair, data_variance
from ._initialization import initial_statistics, initialize, initialize_repaired
from ._kernels import as_matrices, prepare
from ._mstep import GaussianParameters, covariances_from_cholesky, m_step
from ._variational import (
    default_covariance_prior,
    e_step_parameters,
    responsibility_entropy,
    variational_lower_bound,
    variational_m_step,
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
    on_degenerate: str = "raise"


@dataclass
class EMResult:
    params: GaussianParameters  # or VariationalParameters: the model's state
    lower_bound: float
    lower_bounds: list
    n_iter: int
    converged: bool
    init_time: float = 0.0
    iter_times: list = field(default_factory=list)
    best_init: int = 0
    events: list = field(default_factory=list)  # DegenerateEvent, in order


def _m_step(stats, settings):
    return m_step(stats, settings.reg_covar, settings.eps, float32_input=settings.float32_input)


class MaximumLikelihood:
    """EM's updates (``GaussianMixture``): the state is the parameters, and
    the lower bound of an iteration is the mean log-likelihood of its E-step.

    Each update rule of :func:`run_em` is a class with these methods:
    ``prepare(source)`` (once per fit, before anything else reads the rows),
    ``begin()`` (before each run), ``initialize(source, random_state)``,
    ``e_step_parameters(state)`` (what the kernels score with),
    ``update(stats, state) -> (state, lower_bound)``, ``take_events()`` (the
    degenerate components met since the last call) and
    ``without_iterations(state)`` (the result of ``max_iter=0``).

    With ``on_degenerate`` other than 'raise', the M-step is
    :class:`Repair`'s, which moves or removes the components that
    degenerate (see ``_degenerate``); with 'raise' it is scikit-learn's.
    """

    def __init__(self, settings):
        self.settings = settings
        self.source = None
        self._events = []

    def prepare(self, source):
        self.source = source

    def begin(self):
        s = self.settings
        self._iteration = 0
        self._repair = None
        if s.on_degenerate != "raise":
            self._repair = Repair(
                s.on_degenerate, s.reg_covar, s.eps, s.float32_input, s.n_components
            )

    def initialize(self, source, random_state):
        if self._repair is None:
            return initialize(source, self.settings, random_state)
        params, events = initialize_repaired(source, self.settings, random_state, self._repair)
        self._events.extend(events)
        return params

    def e_step_parameters(self, params):
        return params

    def update(self, stats, params):
        self._iteration += 1
        lower_bound = stats.log_likelihood / stats.sum_weight
        if self._repair is None:
            return _m_step(stats, self.settings), lower_bound

        def worst_rows(size, *_):
            # under the parameters of this iteration's E-step
            _, indices = self.source.worst_rows(params, self.settings.covariance_type, size)
            return indices, self.source.rows(indices)

        new, events = self._repair.m_step(stats, self._iteration, worst_rows)
        self._events.extend(events)
        return new, lower_bound

    def take_events(self):
        events, self._events = self._events, []
        return events

    def without_iterations(self, params):
        if params.covariances is None:  # precisions_init given
            params = params._replace(
                covariances=covariances_from_cholesky(
                    params.precisions_cholesky, self.settings.covariance_type
                )
            )
        return params


class Variational:
    """The variational updates (``BayesianGaussianMixture``): the state is
    the posterior (:class:`VariationalParameters`); the E-step is EM's with
    the constants of :func:`e_step_parameters`, and the lower bound
    scikit-learn's, from the E-step's statistics and the M-step's posterior.
    """

    def __init__(self, settings, priors, float32_hint=False):
        self.settings = settings
        self.priors = priors
        # scikit-learn's ill-defined error ends with its float32 hint where
        # its covariances are float32 (diag and spherical from the default
        # prior): the same words here
        self.float32_hint = float32_hint
        self._last = None
        self.begin()

    def begin(self):
        self.reg_covar = self.settings.reg_covar  # raised by on_degenerate only
        self._iteration = 0
        self._events = []

    def take_events(self):
        events, self._events = self._events, []
        return events

    def prepare(self, source):
        """The priors left to the data (scikit-learn's defaults): its mean
        (a sum, chunk by chunk), then its covariance from the statistics of
        one component that holds every row, about that mean (no copy of the
        data).  About any other shift the covariance loses digits: about the
        first row, 300 standard deviations off in float32 data, it was 3e-4
        off (a test keeps it right)."""
        priors = self.priors
        if priors.mean is not None and priors.covariance is not None:
            return
        mean = source.weighted_mean()
        if priors.covariance is None:
            covariance_type = self.settings.covariance_type
            stats = source.accumulate_resp(
                lambda start, stop, rows: np.ones((stop - start, 1)),
                mean[np.newaxis],
                covariance_type,
            )
            priors.covariance = default_covariance_prior(
                covariance_type, stats.nk[0], stats.sums, stats.scatter
            )
        if priors.mean is None:
            priors.mean = mean

    def _posterior(self, stats):
        """The variational M-step.  Its covariances are positive definite
        whenever the covariance prior is; with a prior from singular data (a
        constant feature) and ``reg_covar=0`` they are not, in every
        component alike: ``on_degenerate`` other than 'raise' then raises
        the run's regularisation as ``_degenerate`` does for EM (components
        falling empty are this model's own answer, not an event)."""
        s = self.settings
        try:
            return variational_m_step(
                stats, self.priors, self.reg_covar, s.eps, float32_input=self.float32_hint
            )
        except ValueError:
            if s.on_degenerate == "raise":
                raise
        variance = data_variance(stats)
        extra = REGULARISATION * (variance if variance > 0 else 1.0)
        for _ in range(30):  # x10 until positive definite (at most 1e29 times)
            self.reg_covar += extra
            try:
                posterior = variational_m_step(
                    stats, self.priors, self.reg_covar, s.eps, float32_input=self.float32_hint
                )
            except ValueError:
                extra *= 10.0
                continue
            self._events.append(
                DegenerateEvent(
                    self._iteration,
                    -1,
                    "ill-defined",
                    f"regularised (reg_covar {self.reg_covar:.3g})",
                )
            )
            return posterior
        return variational_m_step(  # scikit-learn's error
            stats, self.priors, self.reg_covar, s.eps, float32_input=self.float32_hint
        )

    def initialize(self, source, random_state):
        s = self.settings
        stats = initial_statistics(
            source,
            init_params=s.init_params,
            n_components=s.n_components,
            covariance_type=s.covariance_type,
            random_state=random_state,
        )
        return self._posterior(stats)

    def e_step_parameters(self, posterior):
        # the update after an E-step asks again for the same posterior's
        if self._last is None or self._last[0] is not posterior:
            params = e_step_parameters(
                posterior, self.priors.weight_concentration_prior_type, posterior.means.shape[1]
            )
            self._last = (posterior, params)
        return self._last[1]

    def update(self, stats, posterior):
        self._iteration += 1
        s = self.settings
        dtype = np.float32 if s.float32_input else np.float64
        # the arrays the E-step ran with, as the kernels took them
        _, kernel_args = prepare(self.e_step_parameters(posterior), s.covariance_type, dtype)
        entropy = responsibility_entropy(stats, as_matrices(s.covariance_type, kernel_args))
        new = self._posterior(stats)
        bound = variational_lower_bound(
            entropy,
            new,
            self.priors.weight_concentration_prior_type,
            s.covariance_type,
            stats.n_features,
        )
        return new, bound

    def without_iterations(self, posterior):
        return posterior


def run_em(source, state, model, lower_bound, reporter, events=None):
    """EM iterations from ``state`` until convergence or ``max_iter``.

    ``model`` holds the update rule (:class:`MaximumLikelihood`,
    :class:`Variational`) and the settings; ``lower_bound`` is the previous
    one (-inf for a fresh start).  Each iteration is one pass: the source's
    statistics under the E-step's parameters, then the model's update, which
    gives the next state and the lower bound scikit-learn reports for the
    iteration.  An iteration in which a component degenerated (and the
    policy repaired it) never counts as converged.  ``events`` are those of
    the run so far (its initialisation's).
    """
    settings = model.settings
    events = list(events or [])
    if settings.max_iter == 0:
        # scikit-learn's max_iter=0: the initialisation is the result, with
        # no lower bound (-inf) and no "converged" message.
        return EMResult(model.without_iterations(state), -np.inf, [], 0, False, events=events)
    lower_bounds = []
    iter_times = []
    converged = False
    reporter.iterations_begin()
    for n_iter in range(1, settings.max_iter + 1):
        tic = time.perf_counter()
        previous = lower_bound
        stats = source.accumulate(model.e_step_parameters(state), settings.covariance_type)
        state, lower_bound = model.update(stats, state)
        new_events = model.take_events()
        lower_bounds.append(lower_bound)
        iter_times.append(time.perf_counter() - tic)
        change = lower_bound - previous
        reporter.iteration_end(n_iter, change, lower_bound)
        for event in new_events:
            reporter.degenerate(event)
        events.extend(new_events)
        if abs(change) < settings.tol and not new_events:
            converged = True
            break
    reporter.init_end(lower_bound, converged)
    return EMResult(
        state, lower_bound, lower_bounds, n_iter, converged, 0.0, iter_times, events=events
    )


def fit_mixture(source, model, random_state, reporter, warm=None):
    """``n_init`` EM runs (one from ``warm=(state, lower_bound)``); the best."""
    n_init = 1 if warm is not None else model.settings.n_init
    best = None
    for init in range(n_init):
        reporter.init_begin(init)
        tic = time.perf_counter()
        model.begin()
        if warm is None:
            state, lower_bound = model.initialize(source, random_state), -np.inf
        else:
            state, lower_bound = warm
        init_time = time.perf_counter() - tic
        init_events = model.take_events()
        for event in init_events:
            reporter.degenerate(event)
        result = run_em(source, state, model, lower_bound, reporter, init_events)
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
