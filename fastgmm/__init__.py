"""fastgmm: Gaussian mixtures by EM, fast and lean, a drop-in for scikit-learn's.

>>> from fastgmm import GaussianMixture
"""

from ._estimator import GaussianMixture
from ._stats import SufficientStatistics

__version__ = "0.1.0"

__all__ = ["GaussianMixture", "SufficientStatistics", "__version__"]
