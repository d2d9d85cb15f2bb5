"""Degenerate components: finding them after an M-step, and the policies
that repair the fit instead of raising (``on_degenerate``).  NumPy only, on
arrays of size n_components x n_features^2 at most, apart from the one
scoring pass a re-seed asks of the source.

A component is degenerate when

* ``empty``: it holds (almost) no points: ``N_k`` below a thousandth of
  one row's worth of weight (the mean weight of a row);
* ``ill-defined``: its covariance is not positive definite after
  ``reg_covar`` (it collapsed onto a point or a subspace): scikit-learn's
  "ill-defined empirical covariance".

The policies:

* ``raise``: scikit-learn's behaviour and error, exactly (an empty
  component is kept, as there);
* ``reseed``: each degenerate component moves to one of the rows the model
  explains worst (the lowest ``log p(x)`` under the parameters of the
  iteration's E-step, a scoring pass run only then; ties by row index, so
  for any thread count), with the weighted mean covariance of the healthy
  components and one row's worth of weight (more would take over rows that
  other components explain well, and empty them in turn); a component
  that degenerates a third time is dropped;
* ``drop``: degenerate components are removed and EM goes on with fewer.

When no component is healthy and some are ill-defined, the data themselves
are singular at this ``reg_covar`` (a constant feature with ``reg_covar=0``):
neither moving nor removing a component helps, so both policies regularise
instead, raising the fit's regularisation to ``1e-6`` times the data's mean
variance (1e-6 if that is 0), an event of its own, and kept for the rest of
that initialisation.
"""

from typing import NamedTuple

import numpy as np

from ._mstep import (
    GaussianParameters,
    compute_precision_cholesky,
    estimate_parameters,
    unpack_triangle,
)

POLICIES = ("raise", "reseed", "drop")
REGULARISATION = 1e-6  # times the data's mean variance
MAX_RESEEDS = 2  # a component degenerate a third time is dropped
EMPTY_ROWS = 1e-3  # "empty": less than this many rows' worth of weight


class DegenerateEvent(NamedTuple):
    """One event: the iteration (0: the initialisation), the component (its
    index at that iteration; -1 for the whole mixture), why, and what was
    done."""

    iteration: int
    component: int
    reason: str  # "empty", "ill-defined"
    action: str  # "reseeded at row N", "dropped", "regularised (reg_covar X)"

    def __str__(self):
        what = "mixture" if self.component < 0 else f"component {self.component}"
        return f"iteration {self.iteration}: {what} {self.reason}, {self.action}"


def _positive_definite(covariance, covariance_type):
    if not np.all(np.isfinite(covariance)):
        return False
    if covariance_type in ("full", "tied"):
        try:
            chol = np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            return False
        return bool(np.all(np.diag(chol) > 0))
    return bool(np.all(covariance > 0))


def find_degenerate(stats, covariances, covariance_type):
    """``{component: reason}`` for the M-step's covariances from ``stats``."""
    found = {}
    one_row = stats.sum_weight / max(stats.n_samples, 1)
    for k in np.flatnonzero(stats.nk < EMPTY_ROWS * one_row):
        found[int(k)] = "empty"
    if covariance_type == "tied":
        if not _positive_definite(covariances, covariance_type):
            for k in range(stats.n_components):
                found.setdefault(k, "ill-defined")
        return found
    for k in range(stats.n_components):
        if not _positive_definite(covariances[k], covariance_type):
            found.setdefault(k, "ill-defined")  # an empty one stays "empty"
    return found


def data_variance(stats):
    """The data's mean variance over the features, from any statistics of
    every row (the components' add up to the rows'): rebased onto the data's
    mean, their scatter's trace."""
    total = stats.nk.sum()
    if not total > 0:
        return 0.0
    mean = (stats.nk @ stats.shifts + stats.sums.sum(axis=0)) / total
    about_mean = stats.rebased(np.broadcast_to(mean, stats.shifts.shape))
    scatter, d = about_mean.scatter, stats.n_features
    if stats.covariance_type in ("full", "tied"):
        trace = np.trace(unpack_triangle(scatter, d), axis1=-2, axis2=-1).sum()
    else:  # the diagonals, or the traces
        trace = scatter.sum()
    return max(float(trace) / total / d, 0.0)


def _healthy_covariance(covariances, nk, healthy):
    """The weighted mean covariance of the healthy components."""
    w = nk[healthy] / nk[healthy].sum() if nk[healthy].sum() > 0 else None
    return np.average(covariances[healthy], axis=0, weights=w)


class Repair:
    """The policy's M-step for one initialisation: scikit-learn's M-step,
    then the repairs of the components it left degenerate, with their
    events.  ``reg_covar`` is the fit's, raised here if the data need it."""

    def __init__(self, policy, reg_covar, eps, float32_input, n_components):
        self.policy = policy
        self.reg_covar = reg_covar
        self.eps = eps
        self.float32_input = float32_input
        self.reseeds = np.zeros(n_components, dtype=int)  # per current component

    def m_step(self, stats, iteration, worst_rows, *, normalize_weights=True):
        """Parameters from ``stats`` (iteration ``iteration``; 0 for the
        initialisation's, with ``normalize_weights=False``), repaired.

        worst_rows : callable (size, weights, means, covariances, healthy) -> (indices, rows)
            At most ``size`` rows the model explains worst, lowest first
            (the M-step's estimates and which components are healthy are
            passed for a caller with no E-step parameters: the
            initialisation).
        Returns ``(GaussianParameters, events of this M-step)``.
        """
        covariance_type = stats.covariance_type
        events = []
        if self.reseeds.shape[0] != stats.n_components:  # a warm start with fewer
            self.reseeds = np.zeros(stats.n_components, dtype=int)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            weights, means, covariances = estimate_parameters(
                stats, self.reg_covar, self.eps, normalize_weights=normalize_weights
            )
        found = find_degenerate(stats, covariances, covariance_type)
        healthy = np.array([k not in found for k in range(stats.n_components)])
        ill = [k for k, reason in found.items() if reason == "ill-defined"]
        if ill and not healthy.any():
            # singular data at this regularisation: regularise the mixture
            variance = data_variance(stats)
            extra = REGULARISATION * (variance if variance > 0 else 1.0)
            for _ in range(30):  # x10 until positive definite (at most 1e29 times)
                self.reg_covar = self.reg_covar + extra
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    weights, means, covariances = estimate_parameters(
                        stats, self.reg_covar, self.eps, normalize_weights=normalize_weights
                    )
                found = find_degenerate(stats, covariances, covariance_type)
                if not any(r == "ill-defined" for r in found.values()):
                    break
                extra *= 10.0
            events.append(
                DegenerateEvent(
                    iteration, -1, "ill-defined", f"regularised (reg_covar {self.reg_covar:.3g})"
                )
            )
            healthy = np.array([k not in found for k in range(stats.n_components)])
        if found and healthy.any():
            weights, means, covariances, done = self._repair(
                stats, found, healthy, weights, means, covariances, iteration, worst_rows
            )
            events.extend(done)
        precisions_cholesky = compute_precision_cholesky(
            covariances, covariance_type, self.float32_input
        )
        return GaussianParameters(weights, means, covariances, precisions_cholesky), events

    def _repair(self, stats, found, healthy, weights, means, covariances, iteration, worst_rows):
        covariance_type = stats.covariance_type
        bad = sorted(found)
        events = []
        if self.policy == "drop":
            keep = np.flatnonzero(healthy)
            for k in bad:
                events.append(DegenerateEvent(iteration, k, found[k], "dropped"))
            weights = weights[keep] / weights[keep].sum()
            means = means[keep]
            if covariance_type != "tied":
                covariances = covariances[keep]
            self.reseeds = self.reseeds[keep]
            return weights, means, covariances, events
        indices, rows = worst_rows(len(bad), weights, means, covariances, healthy)
        means = means.copy()
        weights = weights.copy()
        covariances = covariances.copy()
        if covariance_type != "tied":
            spread = _healthy_covariance(covariances, stats.nk, healthy)
        drop = []
        for j, k in enumerate(bad):
            if j >= len(indices) or self.reseeds[k] >= MAX_RESEEDS:
                # moved twice already (or no row left to move it to): the
                # data do not hold this many components
                drop.append(k)
                events.append(DegenerateEvent(iteration, k, found[k], "dropped"))
                continue
            self.reseeds[k] += 1
            means[k] = rows[j]
            if covariance_type != "tied":
                covariances[k] = spread
            weights[k] = 1.0 / max(stats.n_samples, 1)  # one row's worth
            events.append(
                DegenerateEvent(iteration, k, found[k], f"reseeded at row {int(indices[j])}")
            )
        if drop:
            keep = np.setdiff1d(np.arange(stats.n_components), drop)
            weights, means = weights[keep], means[keep]
            if covariance_type != "tied":
                covariances = covariances[keep]
            self.reseeds = self.reseeds[keep]
        weights /= weights.sum()
        return weights, means, covariances, events
