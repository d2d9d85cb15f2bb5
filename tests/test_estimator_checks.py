"""scikit-learn's own estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastgmm import GaussianMixture

# Checks expected to fail, with the reason.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [GaussianMixture(n_init=2, max_iter=5)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
