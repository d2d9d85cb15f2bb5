"""scikit-learn's own estimator checks, on both estimators, with no
expected failure."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastgmm import BayesianGaussianMixture, GaussianMixture


@parametrize_with_checks(
    [
        GaussianMixture(n_init=2, max_iter=5),
        BayesianGaussianMixture(n_init=2, max_iter=5),
    ],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
