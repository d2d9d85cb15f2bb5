"""The sufficient statistics of a Gaussian mixture: a small value type that adds.

Every way of feeding data (an array, a memmap read in chunks, a stream of
batches, the blocks of a Dask array) only produces these and adds them; the
M-step takes one and never sees a data point.
"""

from __future__ import annotations

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def scatter_shape(covariance_type: str, n_components: int, n_features: int) -> tuple:
    """Shape of the scatter statistic for one covariance type.

    full: one packed upper triangle per component; tied: one packed triangle
    summed over the components; diag: the diagonal per component; spherical:
    the trace per component.
    """
    packed = n_features * (n_features + 1) // 2
    return {
        "full": (n_components, packed),
        "tied": (1, packed),
        "diag": (n_components, n_features),
        "spherical": (n_components, 1),
    }[covariance_type]


class SufficientStatistics:
    """Weighted, shifted sufficient statistics of a set of rows.

    With responsibilities ``r`` and sample weights ``w``, for each component
    ``k`` and its fixed shift ``c_k``:

    nk : ndarray of shape (n_components,)
        ``sum w r``.
    sums : ndarray of shape (n_components, n_features)
        ``sum w r (x - c_k)``.
    scatter : ndarray, shape given by :func:`scatter_shape`
        ``sum w r (x - c_k)(x - c_k)^T`` (packed upper triangle; summed over
        ``k`` for tied; its diagonal for diag; its trace for spherical).
    sum_weight : float
        ``sum w``.
    log_likelihood : float
        ``sum w log p(x)`` under the parameters of the E-step that produced
        them (0 for statistics of given responsibilities).
    n_samples : int
        Rows seen (zero-weight rows included).

    Shifting by ``c_k`` (the current means) instead of accumulating raw
    moments about the origin keeps every digit of the covariance for data far
    from the origin; all fields are float64 whatever the input dtype.
    ``a + b`` is the statistics of both sets of rows, provided both were taken
    with the same shifts.
    """

    __slots__ = (
        "covariance_type",
        "shifts",
        "nk",
        "sums",
        "scatter",
        "sum_weight",
        "log_likelihood",
        "n_samples",
    )

    def __init__(
        self, covariance_type: str, shifts: np.ndarray, nk: np.ndarray, sums: np.ndarray,
        scatter: np.ndarray, sum_weight: float, log_likelihood: float = 0.0,
        n_samples: int = 0,
    ) -> None:  # fmt: skip
        self.covariance_type = covariance_type
        self.shifts = shifts
        self.nk = nk
        self.sums = sums
        self.scatter = scatter
        self.sum_weight = float(sum_weight)
        self.log_likelihood = float(log_likelihood)
        self.n_samples = int(n_samples)

    @classmethod
    def zeros(cls, covariance_type: str, shifts: np.ndarray) -> SufficientStatistics:
        n_components, n_features = shifts.shape
        return cls(
            covariance_type,
            shifts,
            np.zeros(n_components),
            np.zeros((n_components, n_features)),
            np.zeros(scatter_shape(covariance_type, n_components, n_features)),
            0.0,
        )

    @property
    def n_components(self) -> int:
        return self.shifts.shape[0]

    @property
    def n_features(self) -> int:
        return self.shifts.shape[1]

    def __add__(self, other: SufficientStatistics) -> SufficientStatistics:
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        if other.covariance_type != self.covariance_type:
            raise ValueError(
                "Cannot add statistics of covariance_type "
                f"{self.covariance_type!r} and {other.covariance_type!r}."
            )
        if other.shifts is not self.shifts and not np.array_equal(other.shifts, self.shifts):
            raise ValueError(
                "Cannot add statistics taken with different shifts: compute "
                "both with the same parameters."
            )
        return SufficientStatistics(
            self.covariance_type,
            self.shifts,
            self.nk + other.nk,
            self.sums + other.sums,
            self.scatter + other.scatter,
            self.sum_weight + other.sum_weight,
            self.log_likelihood + other.log_likelihood,
            self.n_samples + other.n_samples,
        )

    def scaled(self, factor: float) -> SufficientStatistics:
        """The statistics with every weight multiplied by ``factor``."""
        return SufficientStatistics(
            self.covariance_type, self.shifts, self.nk * factor, self.sums * factor,
            self.scatter * factor, self.sum_weight * factor,
            self.log_likelihood * factor, self.n_samples,
        )  # fmt: skip

    def rebased(self, shifts: np.ndarray) -> SufficientStatistics:
        """The same statistics about other shifts ``c'`` (exact algebra).

        With ``d = c - c'``: ``s' = s + N d`` and
        ``S' = S + d s^T + s d^T + N d d^T`` (its diagonal, trace, or the sum
        over components for tied, whose components share one shift).  Used to
        blend statistics taken under different parameters (``partial_fit``);
        keep the shifts near the data, as the means are.
        """
        shifts = np.asarray(shifts, dtype=np.float64)
        delta = self.shifts - shifts
        nk, sums = self.nk, self.sums
        new_sums = sums + nk[:, None] * delta
        n_features = self.n_features
        if self.covariance_type == "full":
            rows, cols = np.triu_indices(n_features)
            cross = (
                delta[:, rows] * sums[:, cols] + sums[:, rows] * delta[:, cols]
                + nk[:, None] * delta[:, rows] * delta[:, cols]
            )  # fmt: skip
            scatter = self.scatter + cross
        elif self.covariance_type == "tied":
            d, s_tot, n_tot = delta[0], sums.sum(axis=0), nk.sum()
            rows, cols = np.triu_indices(n_features)
            scatter = (
                self.scatter
                + (d[rows] * s_tot[cols] + s_tot[rows] * d[cols] + n_tot * d[rows] * d[cols])[
                    None, :
                ]
            )
        elif self.covariance_type == "diag":
            scatter = self.scatter + 2 * delta * sums + nk[:, None] * delta**2
        else:
            scatter = (
                self.scatter
                + (
                    2 * np.einsum("kd,kd->k", delta, sums)
                    + nk * np.einsum("kd,kd->k", delta, delta)
                )[:, None]
            )
        return SufficientStatistics(
            self.covariance_type, shifts, nk.copy(), new_sums, scatter, self.sum_weight,
            self.log_likelihood, self.n_samples,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"SufficientStatistics(covariance_type={self.covariance_type!r}, "
            f"n_components={self.n_components}, n_features={self.n_features}, "
            f"n_samples={self.n_samples}, sum_weight={self.sum_weight!r})"
        )
