"""Fixtures only; plain helpers live in _helpers.py."""

import numpy as np
import pytest


@pytest.fixture
def small_grid(monkeypatch):
    """Shrink the block grid so small data spans several blocks and waves."""
    import fastgmm._sources as sources

    monkeypatch.setattr(sources, "BLOCK_ROWS", 16)
    monkeypatch.setattr(sources, "TILE_ROWS", 8)
    monkeypatch.setattr(sources, "MAX_WAVE_BLOCKS", 3)
    monkeypatch.setattr(sources, "INIT_CHUNK_BYTES", 16 * 8 * 3)


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
