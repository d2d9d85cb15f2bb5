"""Nothing is compiled at import; the on-disk cache can be switched off."""

import json
import os
import subprocess
import sys


def run(code, **env):
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_compiles_nothing():
    result = run(
        "import json, fastgmm, fastgmm._kernels as k\n"
        "jitted = [f for f in vars(k).values() if hasattr(f, 'signatures')]\n"
        "print(json.dumps([len(jitted), sum(len(f.signatures) for f in jitted)]))"
    )
    n_kernels, n_compiled = result
    assert n_kernels > 10
    assert n_compiled == 0


def test_cache_switch():
    code = (
        "import json, fastgmm._kernels as k\n"
        "print(json.dumps(type(k._accumulate_full._cache).__name__))"
    )
    assert run(code, FASTGMM_NUMBA_CACHE="1") == "FunctionCache"
    assert run(code, FASTGMM_NUMBA_CACHE="0") == "NullCache"
