"""fastgmm: Gaussian mixtures by EM, fast and lean, a drop-in for scikit-learn's.

>>> from fastgmm import GaussianMixture, BayesianGaussianMixture
"""

from . import functional
from ._bayesian import BayesianGaussianMixture
from ._estimator import GaussianMixture, load
from ._patch import is_patched, patch_sklearn, sklearn_patched, unpatch_sklearn
from ._selection import Selection, select_mixture
from ._stats import SufficientStatistics
from ._version import __version__
from ._warmup import warmup

__all__ = [
    "GaussianMixture",
    "BayesianGaussianMixture",
    "SufficientStatistics",
    "functional",
    "load",
    "patch_sklearn",
    "unpatch_sklearn",
    "sklearn_patched",
    "is_patched",
    "warmup",
    "select_mixture",
    "Selection",
    "__version__",
]
