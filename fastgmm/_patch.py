"""Run code written against ``sklearn.mixture.GaussianMixture`` on fastgmm."""

from collections.abc import Iterator
from contextlib import contextmanager

_originals = {}


def _targets():
    import sklearn.mixture
    import sklearn.mixture._gaussian_mixture

    return (sklearn.mixture, sklearn.mixture._gaussian_mixture)


def patch_sklearn() -> None:
    """Make ``sklearn.mixture.GaussianMixture`` fastgmm's estimator.

    Code that imports it after this call, including third-party libraries
    that use it internally, then fits with fastgmm without being edited.
    Code that already holds a reference to scikit-learn's class keeps it, so
    patch before importing such code.  :func:`unpatch_sklearn` restores it.
    """
    from ._estimator import GaussianMixture

    for module in _targets():
        _originals.setdefault(module.__name__, module.GaussianMixture)
        module.GaussianMixture = GaussianMixture


def unpatch_sklearn() -> None:
    """Restore scikit-learn's own ``GaussianMixture``."""
    for module in _targets():
        if module.__name__ in _originals:
            module.GaussianMixture = _originals.pop(module.__name__)


def is_patched() -> bool:
    """Whether ``sklearn.mixture.GaussianMixture`` is fastgmm's estimator now."""
    import sklearn.mixture

    from ._estimator import GaussianMixture

    return sklearn.mixture.GaussianMixture is GaussianMixture


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
