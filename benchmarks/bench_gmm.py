"""asv benchmarks.  ``asv run --python=same --quick`` for a quick look.

Every fit does the same work: a fixed start, ``tol=0`` and a fixed
``max_iter``.  Kernels are compiled in ``setup`` (asv's own warm-up is far
shorter than a compile).
"""

import os
import subprocess
import sys
import tempfile
import warnings

from .common import fixed_start, mixture_data

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
N_SAMPLES, N_FEATURES, N_COMPONENTS, MAX_ITER = 200_000, 16, 16, 5


def _model(covariance_type, dtype, n_threads, max_iter=MAX_ITER):
    from fastgmm import GaussianMixture

    X = mixture_data(N_SAMPLES, N_FEATURES, N_COMPONENTS, dtype)
    start = fixed_start(X, N_COMPONENTS, covariance_type)
    gm = GaussianMixture(
        N_COMPONENTS,
        covariance_type=covariance_type,
        max_iter=max_iter,
        tol=0,
        n_threads=n_threads,
        **start,
    )
    return gm, X


class Fit:
    params = (COVARIANCE_TYPES, ["float64", "float32"], [1, 2])
    param_names = ["covariance_type", "dtype", "n_threads"]
    timeout = 300

    def setup(self, covariance_type, dtype, n_threads):
        warnings.simplefilter("ignore")
        self.gm, self.X = _model(covariance_type, dtype, n_threads)
        _model(covariance_type, dtype, n_threads, max_iter=1)[0].fit(self.X[:5000])

    def time_fit(self, *params):
        self.gm.fit(self.X)

    def peakmem_fit(self, *params):
        self.gm.fit(self.X)

    def track_lower_bound(self, *params):
        return float(self.gm.fit(self.X).lower_bound_)

    track_lower_bound.unit = "log-likelihood per sample"


class FitDegeneratePolicy:
    """``Fit`` with each on_degenerate policy on data where nothing
    degenerates: the policies cost nothing then."""

    params = (["full", "diag"], ["raise", "reseed", "drop"])
    param_names = ["covariance_type", "on_degenerate"]
    timeout = 300

    def setup(self, covariance_type, on_degenerate):
        warnings.simplefilter("ignore")
        self.gm, self.X = _model(covariance_type, "float64", None)
        self.gm.set_params(on_degenerate=on_degenerate)
        self.gm.fit(self.X[:5000])

    def time_fit(self, *params):
        self.gm.fit(self.X)


class Predict:
    params = (COVARIANCE_TYPES, ["float64", "float32"])
    param_names = ["covariance_type", "dtype"]

    def setup(self, covariance_type, dtype):
        warnings.simplefilter("ignore")
        self.gm, self.X = _model(covariance_type, dtype, None, max_iter=2)
        self.gm.fit(self.X)

    def time_predict(self, *params):
        self.gm.predict(self.X)

    def peakmem_predict(self, *params):
        self.gm.predict(self.X)

    def time_predict_proba(self, *params):
        self.gm.predict_proba(self.X)


_FIRST_FIT = """
import time, warnings
import numpy as np
warnings.simplefilter("ignore")
tic = time.perf_counter()
from fastgmm import GaussianMixture
X = np.random.default_rng(0).normal(size=(20000, 8))
GaussianMixture(4, max_iter=3, tol=0, random_state=0).fit(X)
print(time.perf_counter() - tic)
"""


def _fresh_process(code, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


class FreshProcess:
    """Import time and a first fit in a new interpreter (warm and empty cache)."""

    timeout = 600
    number = 1
    repeat = 3

    def track_import_seconds(self):
        return _fresh_process(
            "import time; t = time.perf_counter(); import fastgmm; print(time.perf_counter() - t)"
        )

    track_import_seconds.unit = "seconds"

    def track_first_fit_warm_cache_seconds(self):
        _fresh_process(_FIRST_FIT)  # make sure the cache is filled
        return _fresh_process(_FIRST_FIT)

    track_first_fit_warm_cache_seconds.unit = "seconds"

    def track_first_fit_no_cache_seconds(self):
        with tempfile.TemporaryDirectory() as cache:
            return _fresh_process(
                _FIRST_FIT, {"NUMBA_CACHE_DIR": cache, "FASTGMM_NUMBA_CACHE": "0"}
            )

    track_first_fit_no_cache_seconds.unit = "seconds"


class SmallData:
    """A whole default fit() on small data (the fixed costs of a fit)."""

    params = (COVARIANCE_TYPES, [20, 200, 2000])
    param_names = ["covariance_type", "n_samples"]

    def setup(self, covariance_type, n_samples):
        import numpy as np

        from fastgmm import GaussianMixture

        rng = np.random.default_rng(0)
        half = n_samples // 2
        self.X = np.concatenate(
            [rng.normal(size=(half, 3)), rng.normal(size=(n_samples - half, 3)) + 4]
        )
        self.model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(self.X)  # compiled

    def time_default_fit(self, *params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model.fit(self.X)


class Initialisation:
    """The default kmeans start beyond 2**17 rows (k-means on a sample,
    then every row to its nearest centre), on 1,000,000 x 16, K=16."""

    timeout = 600
    number = 1
    repeat = 3

    def setup(self):
        from fastgmm import GaussianMixture

        self.X = mixture_data(1_000_000, 16, 16, "float64")
        self.model = GaussianMixture(16, max_iter=0, random_state=0)
        self.model.fit(self.X[:5000])  # compiled

    def time_initialisation(self):
        self.model.fit(self.X)  # max_iter=0: the start only


_FIRST_PREDICT = """
import time, warnings
import numpy as np
warnings.simplefilter("ignore")
from fastgmm import GaussianMixture
X = np.random.default_rng(0).normal(size=(20000, 8))
gm = GaussianMixture(4, max_iter=3, tol=0, random_state=0).fit(X)
tic = time.perf_counter()
gm.predict(X)
print(time.perf_counter() - tic)
"""


class FirstPredict:
    """The first predict after a first fit, empty cache: nothing compiles."""

    timeout = 600
    number = 1
    repeat = 3

    def track_first_predict_no_cache_seconds(self):
        with tempfile.TemporaryDirectory() as cache:
            return _fresh_process(
                _FIRST_PREDICT, {"NUMBA_CACHE_DIR": cache, "FASTGMM_NUMBA_CACHE": "0"}
            )

    track_first_predict_no_cache_seconds.unit = "seconds"


class BayesianFit:
    """BayesianGaussianMixture: the same case and work as ``Fit`` (a fixed
    start: random_from_data with one seed, ``tol=0``, ``MAX_ITER`` iterations)."""

    params = (COVARIANCE_TYPES, ["float64", "float32"])
    param_names = ["covariance_type", "dtype"]
    timeout = 300

    def setup(self, covariance_type, dtype):
        from fastgmm import BayesianGaussianMixture

        warnings.simplefilter("ignore")
        self.X = mixture_data(N_SAMPLES, N_FEATURES, N_COMPONENTS, dtype)
        self.bgm = BayesianGaussianMixture(
            n_components=N_COMPONENTS,
            covariance_type=covariance_type,
            init_params="random_from_data",
            random_state=0,
            max_iter=MAX_ITER,
            tol=0,
        )
        self.bgm.fit(self.X[:5000])  # compiles

    def time_fit(self, *params):
        self.bgm.fit(self.X)

    def peakmem_fit(self, *params):
        self.bgm.fit(self.X)

    def track_lower_bound(self, *params):
        return float(self.bgm.fit(self.X).lower_bound_)

    track_lower_bound.unit = "variational lower bound (summed over samples)"
