"""Fixtures (and the hooks behind them) only; plain helpers live in _helpers.py."""

import numpy as np
import pytest

_BOUNDSCHECK = pytest.StashKey()


def _start_boundscheck_run():
    """tests/_boundscheck_cases.py in a fresh process, kernels compiled with
    Numba's bounds checks and the disk cache off; its output in files (a
    pipe could fill and stall it)."""
    import os
    import pathlib
    import subprocess
    import sys
    import tempfile

    script = pathlib.Path(__file__).with_name("_boundscheck_cases.py")
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", FASTGMM_NUMBA_CACHE="0")
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=out, stderr=err)
    return proc, out, err


@pytest.hookimpl(trylast=True)  # after -k / -m have deselected
def pytest_collection_modifyitems(config, items):
    # The bounds-checked run compiles every kernel afresh (about a minute, on
    # one core): started as soon as its test is collected, it overlaps the
    # rest of the suite instead of adding to it.
    if any(item.originalname == "test_kernels_in_bounds" for item in items):
        config.stash[_BOUNDSCHECK] = _start_boundscheck_run()


def pytest_unconfigure(config):
    run = config.stash.get(_BOUNDSCHECK, None)
    if run is not None and run[0].poll() is None:  # a run stopped early
        run[0].kill()
        run[0].wait()


@pytest.fixture
def boundscheck_run(request):
    """(returncode, stdout, stderr) of the bounds-checked kernel run, started
    at collection (or now)."""
    run = request.config.stash.get(_BOUNDSCHECK, None) or _start_boundscheck_run()
    proc, out, err = run
    proc.wait(timeout=900)
    out.seek(0)
    err.seek(0)
    return proc.returncode, out.read(), err.read()


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
