"""scikit-learn's own mixture tests, run against fastgmm's estimators.

``sklearn/mixture/tests/test_gaussian_mixture.py``,
``test_bayesian_mixture.py`` and ``test_mixture.py`` are installed with
scikit-learn.  Each is loaded here as a fresh module while
``sklearn.mixture``'s ``GaussianMixture`` and ``BayesianGaussianMixture``
are fastgmm's classes, so every mixture those tests build (at import, in
``parametrize``, or in the test body) is fastgmm's; their test functions are
then collected from this module.  ``global_dtype`` runs them in float32 as well as float64
(see conftest.py).

Left out, each with its reason (they test scikit-learn's private functions
or internals, not the estimator's behaviour):
"""

import importlib.util

import fastgmm

EXCLUDED = {
    # scikit-learn's private M-step helpers, called directly: nothing of
    # fastgmm runs.  fastgmm's own statistics are checked against
    # tests/reference.py in test_statistics.py.
    "test_suffstat_sk_full": "calls sklearn's private _estimate_gaussian_covariances_full",
    "test_suffstat_sk_tied": "calls sklearn's private _estimate_gaussian_covariances_tied",
    "test_suffstat_sk_diag": "calls sklearn's private _estimate_gaussian_covariances_diag",
    "test_gaussian_suffstat_sk_spherical": "calls sklearn's private "
    "_estimate_gaussian_covariances_spherical",
    "test_compute_log_det_cholesky": "calls sklearn's private _compute_log_det_cholesky",
    "test_gaussian_mixture_log_probabilities": "calls sklearn's private "
    "_estimate_log_gaussian_prob",
    # Counts calls of sklearn's private _estimate_gaussian_parameters through
    # a mock: fastgmm's M-step is its own (what the test protects, no
    # estimation when every *_init is given, is tested in test_errors.py).
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": "mocks "
    "sklearn's private _estimate_gaussian_parameters",
    # scikit-learn fits here only through rounding: two components sit on
    # one point each, whose exact variance is 0, and with reg_covar=0 its
    # raw-moment expansion leaves 3.6e-16 and 9.5e-16 instead.  fastgmm
    # computes about the shift and gets 0 (to 1e-46), so it raises
    # scikit-learn's own ill-defined-covariance error, as scikit-learn does
    # whenever its rounding comes out <= 0.  test_errors.py runs this case:
    # the error with reg_covar=0, and the behaviour the test protects (the
    # best parameters, n_iter_ and lower bounds set after a diverging
    # iteration) with a regularisation that makes the variance exact.
    "test_gaussian_mixture_setting_best_params": "rounding decides it: the exact "
    "variance is 0 (see test_errors.py)",
    # The array API: fastgmm's kernels take NumPy arrays (and Dask arrays).
    "test_gaussian_mixture_array_api_compliance": "array API dispatch (NumPy only)",
    "test_gaussian_mixture_raises_where_array_api_not_implemented": "array API dispatch",
    # scikit-learn's private normalising constants of the variational lower
    # bound, called directly: fastgmm's are in _variational.py, checked with
    # the whole lower bound against tests/reference.py in test_bayesian.py.
    "test_log_dirichlet_norm": "calls sklearn's private _log_dirichlet_norm",
    "test_log_wishart_norm": "calls sklearn's private _log_wishart_norm",
}

_MODULES = (
    "sklearn.mixture.tests.test_gaussian_mixture",
    "sklearn.mixture.tests.test_bayesian_mixture",
    "sklearn.mixture.tests.test_mixture",
)


def _load_against_fastgmm(name):
    """A fresh copy of module ``name`` whose mixtures are fastgmm's."""
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    with fastgmm.sklearn_patched():
        spec.loader.exec_module(module)
    for cls in (fastgmm.GaussianMixture, fastgmm.BayesianGaussianMixture):
        assert getattr(module, cls.__name__, cls) is cls
    return module


def _collect():
    tests, seen = {}, set()
    for name in _MODULES:
        module = _load_against_fastgmm(name)
        for attr, value in vars(module).items():
            if attr.startswith("test_") and callable(value):
                seen.add(attr)
                if attr not in EXCLUDED:
                    # a name in two modules (test_monotonic_likelihood) keeps both
                    key = attr if attr not in tests else f"{attr}__{name.rsplit('.', 1)[1]}"
                    tests[key] = value
    # a test renamed or removed upstream would make an exclusion stale
    stale = set(EXCLUDED) - seen
    assert not stale, f"excluded tests no longer in scikit-learn: {stale}"
    return tests


globals().update(_collect())

__doc__ += "".join(f"\n- ``{name}``: {why}." for name, why in EXCLUDED.items())
