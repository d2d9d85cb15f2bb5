"""Run code written against ``sklearn.mixture`` on fastgmm."""

from collections.abc import Iterator
from contextlib import contextmanager

_originals = {}

# the names patched, in the modules where scikit-learn defines or exports them
_NAMES = ("GaussianMixture", "BayesianGaussianMixture")


def _targets():
    import sklearn.mixture
    import sklearn.mixture._bayesian_mixture
    import sklearn.mixture._gaussian_mixture

    return (
        (sklearn.mixture, _NAMES),
        (sklearn.mixture._gaussian_mixture, ("GaussianMixture",)),
        (sklearn.mixture._bayesian_mixture, ("BayesianGaussianMixture",)),
    )


def _ours():
    from ._bayesian import BayesianGaussianMixture
    from ._estimator import GaussianMixture

    return {"GaussianMixture": GaussianMixture, "BayesianGaussianMixture": BayesianGaussianMixture}


def patch_sklearn() -> None:
    """Make ``sklearn.mixture.GaussianMixture`` and
    ``sklearn.mixture.BayesianGaussianMixture`` fastgmm's estimators.

    Code that imports them after this call, including third-party libraries
    that use them internally, then fits with fastgmm without being edited.
    Code that already holds a reference to scikit-learn's classes keeps it,
    so patch before importing such code.  :func:`unpatch_sklearn` restores
    them.
    """
    ours = _ours()
    for module, names in _targets():
        for name in names:
            _originals.setdefault((module.__name__, name), getattr(module, name))
            setattr(module, name, ours[name])


def unpatch_sklearn() -> None:
    """Restore scikit-learn's own ``GaussianMixture`` and ``BayesianGaussianMixture``."""
    for module, names in _targets():
        for name in names:
            if (module.__name__, name) in _originals:
                setattr(module, name, _originals.pop((module.__name__, name)))


def is_patched() -> bool:
    """Whether ``sklearn.mixture``'s two mixtures are fastgmm's estimators now."""
    import sklearn.mixture

    ours = _ours()
    return all(getattr(sklearn.mixture, name) is ours[name] for name in _NAMES)


@contextmanager
def sklearn_patched() -> Iterator[None]:
    """Context manager: patched inside the block, as it was afterwards.

    >>> import fastgmm, sklearn.mixture
    >>> with fastgmm.sklearn_patched():
    ...     sklearn.mixture.GaussianMixture.__module__
    'fastgmm._estimator'
    >>> sklearn.mixture.GaussianMixture.__module__
    'sklearn.mixture._gaussian_mixture'
    """
    was_patched = is_patched()
    patch_sklearn()
    try:
        yield
    finally:
        if not was_patched:
            unpatch_sklearn()
