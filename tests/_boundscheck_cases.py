"""Small fits and scores on every kernel path, for a run under
NUMBA_BOUNDSCHECK=1 (test_kernels.py::test_kernels_in_bounds): an
out-of-bounds read or write then raises IndexError instead of returning
numbers read from elsewhere."""

import warnings

import numpy as np

from fastgmm import GaussianMixture
from fastgmm import functional as F

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
# 1,300 rows: a partial block and a partial tile; d = 1, 2, 5: both full
# layouts (two-feature loops, padded blocks of four) and a padded tail.
for n_features in (1, 2, 5):
    X64 = rng.normal(size=(1300, n_features))
    for X in (X64, X64.astype(np.float32)):
        for covariance_type in ("full", "tied", "diag", "spherical"):
            for init_params in ("kmeans", "random"):
                gm = GaussianMixture(
                    3,
                    covariance_type=covariance_type,
                    max_iter=2,
                    init_params=init_params,
                    random_state=0,
                ).fit(X)
            gm.predict_proba(X)
            gm.score_samples(X)
            F.log_prob(X, gm.weights_, gm.means_, gm.precisions_cholesky_, covariance_type)
# fastgmm's k-means (seeding, Lloyd, the nearest-centre pass of every
# type), weighted, on the same shapes
from fastgmm import _kmeans  # noqa: E402
from fastgmm._initialization import _nearest_statistics  # noqa: E402
from fastgmm._sources import ArraySource  # noqa: E402

for n_features in (1, 2, 5):
    X64 = rng.normal(size=(1300, n_features))
    w = rng.uniform(0.0, 2.0, len(X64))
    for X in (X64, X64.astype(np.float32)):
        centres, origin = _kmeans.kmeans(X, w, 3, np.random.RandomState(0))
        for covariance_type in ("full", "tied", "diag", "spherical"):
            _nearest_statistics(ArraySource(X, w), centres, origin, covariance_type)
print("in bounds")

# The canary: a call past the checks, with an output too short for its rows,
# must raise here (and only because bounds are checked).
from fastgmm import _kernels  # noqa: E402
from fastgmm._config import BLOCK_ROWS, TILE_ROWS  # noqa: E402

X = _kernels.read_only(rng.normal(size=(1300, 3)))
_, args = _kernels.prepare(
    gm._fitted_parameters()._replace(means=np.zeros((3, 3)), precisions_cholesky=np.ones((3, 3))),
    "diag",
)
short = np.empty(10)  # lse for 10 of the 1300 rows
try:  # fastgmm's own check comes first
    _kernels.score("diag", X, args, BLOCK_ROWS, TILE_ROWS, np.empty((0, 3)), short,
                   np.empty(0, dtype=np.int64), np.empty((0, 3)))  # fmt: skip
except ValueError:
    pass
else:
    raise AssertionError("the face let a short output through")
try:  # the blocks themselves, past the face (two blocks: called from Python)
    _kernels._parallel.run_blocks(_kernels.RUN["diag"], 2, (
        X, _kernels._NO_WEIGHTS, _kernels._NO_RESP, *_kernels._read_only(args), BLOCK_ROWS,
        TILE_ROWS, *_kernels._no_partials("diag", 3, 3), np.empty((0, 3)), short,
        np.empty(0, dtype=np.int64), np.empty((0, 3)),
    ))  # fmt: skip
except Exception as exc:
    causes = [exc, exc.__cause__, exc.__context__]
    if any(isinstance(c, IndexError) and "out of bounds" in str(c) for c in causes):
        print("canary raised IndexError")
