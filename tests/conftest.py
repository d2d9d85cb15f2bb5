"""Fixtures only; plain helpers live in _helpers.py."""

import numpy as np
import pytest


@pytest.fixture
def small_grid(monkeypatch):
    """Shrink the block grid so small data spans several blocks and waves.

    The sources read the grid from fastgmm._config at each call, and
    monkeypatch fails on a name that is not there: the fixture cannot
    silently stop shrinking the grid."""
    import fastgmm._config as config

    monkeypatch.setattr(config, "BLOCK_ROWS", 16)
    monkeypatch.setattr(config, "TILE_ROWS", 8)
    monkeypatch.setattr(config, "MAX_WAVE_BLOCKS", 3)
    monkeypatch.setattr(config, "INIT_CHUNK_BYTES", 16 * 8 * 3)


# scikit-learn's global fixtures, for its own tests run in test_sklearn_suite.py
# (its conftest.py is not loaded outside its package).  float32 always runs
# here: scikit-learn skips it unless SKLEARN_RUN_FLOAT32_TESTS=1.
@pytest.fixture(params=[np.float32, np.float64])
def global_dtype(request):
    return request.param


def _global_random_seeds():
    import os

    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        return [42]
    if value == "all":
        return list(range(100))
    return [int(v) for v in value.replace("-", ",").split(",")]


@pytest.fixture(params=_global_random_seeds())
def global_random_seed(request):
    return request.param
