"""Nothing is compiled at import; the on-disk cache can be switched off, and
it never serves machine code compiled from other sources than today's."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastgmm


def run(code, cwd=None, **env):
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


_KERNELS = (
    "import json, pkgutil, importlib, fastgmm, fastgmm._kernels as k\n"
    "mods = [importlib.import_module('fastgmm._kernels.' + m.name)\n"
    "        for m in pkgutil.iter_modules(k.__path__)]\n"
    "jitted = [f for m in mods for f in vars(m).values() if hasattr(f, 'signatures')]\n"
)


def test_import_compiles_nothing():
    result = run(
        _KERNELS + "print(json.dumps([len(jitted), sum(len(f.signatures) for f in jitted)]))"
    )
    n_kernels, n_compiled = result
    assert n_kernels > 10
    assert n_compiled == 0


def test_cache_switch():
    code = _KERNELS + "print(json.dumps(sorted({type(f._cache).__name__ for f in jitted})))"
    assert run(code, FASTGMM_NUMBA_CACHE="1") == ["FunctionCache"]
    assert run(code, FASTGMM_NUMBA_CACHE="0") == ["NullCache"]


def test_editing_a_shared_helper_recompiles(tmp_path):
    """Numba checks only the stamp of a kernel's own file: an edit to a helper
    module it calls (here the exp in _vector.py, used by every family) must
    still give the new result, through fastgmm's cache guard."""
    copy = tmp_path / "fastgmm"
    shutil.copytree(
        pathlib.Path(fastgmm.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    code = (
        "import json, numpy as np, fastgmm\n"
        "assert fastgmm.__file__.startswith(%r)\n"
        "from fastgmm import functional as F\n"
        "X = np.linspace(-2, 2, 40).reshape(20, 2)\n"
        "p = F.score_samples(X, [0.5, 0.5], [[0, 0], [1, 1]], np.ones((2, 2)), 'diag')\n"
        "print(json.dumps(p.tolist()))" % str(tmp_path)
    )
    env = dict(PYTHONPATH=str(tmp_path), FASTGMM_NUMBA_CACHE="1", NUMBA_CACHE_DIR="")
    before = run(code, cwd=tmp_path, **env)
    assert run(code, cwd=tmp_path, **env) == before  # served from the cache now
    cached = list((copy / "_kernels" / "__pycache__").glob("*.nbi"))
    assert cached, "the kernels were not cached in the package"

    helper = copy / "_kernels" / "_vector.py"
    text = helper.read_text()
    line = "        x[i] = p if u > _LOG_FLOOR else 0.0\n"
    assert line in text
    helper.write_text(text.replace(line, "        x[i] = 2.0 * p if u > _LOG_FLOOR else 0.0\n"))
    after = run(code, cwd=tmp_path, **env)
    # every exp doubled: log p(x) grows by log 2
    assert max(abs(a - b - 0.6931471805599453) for a, b in zip(after, before)) < 1e-9
    assert run(code, cwd=tmp_path, **dict(env, FASTGMM_NUMBA_CACHE="0")) == after


def test_warmup_fills_the_cache_for_later_processes(tmp_path):
    """After `fastgmm warmup` for one type and dtype, a fit, predict_proba,
    predict and score_samples in a fresh process load every kernel they run
    from the disk cache: no cache miss, so nothing compiles."""
    env = dict(NUMBA_CACHE_DIR=str(tmp_path / "cache"), FASTGMM_NUMBA_CACHE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "fastgmm", "warmup", "--covariance-type", "diag",
         "--dtype", "float32"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kernels for diag/float32:" in proc.stdout and "kernels ready" in proc.stdout
    code = _KERNELS + (
        "import numpy as np, warnings\n"
        "X = np.random.default_rng(1).normal(size=(5000, 4)).astype(np.float32)\n"
        "w = np.ones(len(X))\n"
        "gm = fastgmm.GaussianMixture(3, covariance_type='diag', random_state=0)\n"
        "for init in ('kmeans', 'random'):\n"
        "    gm.set_params(init_params=init).fit(X, sample_weight=w)\n"
        "gm.predict_proba(X); gm.predict(X); gm.score_samples(X)\n"
        "used = [f for f in jitted if f.signatures]\n"
        "print(json.dumps([len(used), sum(sum(f.stats.cache_misses.values()) for f in used),\n"
        "                  sum(sum(f.stats.cache_hits.values()) for f in used)]))"
    )
    n_used, misses, hits = run(code, **env)
    assert n_used >= 3 and misses == 0 and hits >= n_used


def test_warmup_function():
    import io

    out = io.StringIO()
    seconds = fastgmm.warmup(["spherical"], [np.float64], file=out)
    assert list(seconds) == [("spherical", "float64")]
    assert out.getvalue().startswith("kernels for spherical/float64: ")
    with pytest.raises(ValueError, match="covariance_type"):
        fastgmm.warmup(["round"])
    with pytest.raises(ValueError, match="dtype"):
        fastgmm.warmup(["full"], [np.int32])
