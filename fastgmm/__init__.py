"""fastgmm: Gaussian mixtures by EM, fast and lean, a drop-in for scikit-learn's.

>>> from fastgmm import GaussianMixture
"""

from . import functional
from ._estimator import GaussianMixture
from ._patch import is_patched, patch_sklearn, sklearn_patched, unpatch_sklearn
from ._persistence import load
from ._stats import SufficientStatistics

__version__ = "0.1.0"

__all__ = [
    "GaussianMixture",
    "SufficientStatistics",
    "functional",
    "load",
    "patch_sklearn",
    "unpatch_sklearn",
    "sklearn_patched",
    "is_patched",
    "__version__",
]
