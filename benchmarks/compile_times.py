"""Where the compile time goes: seconds per jitted function (exclusive of the
functions it compiles in, from Numba's compile events), for the first fit and
the first predict of one covariance type and dtype (5000 rows: more than two
blocks, so the parallel loop compiles too), in this process with the disk
cache off.  Run one per fresh process:

    python -m benchmarks.compile_times full float64
"""

import collections
import os
import sys
import time

os.environ["FASTGMM_NUMBA_CACHE"] = "0"  # read at fastgmm's import

import numpy as np  # noqa: E402
from numba.core import event  # noqa: E402

import fastgmm  # noqa: E402


def main(covariance_type="full", dtype="float64"):
    X = np.random.default_rng(0).normal(size=(5000, 4)).astype(dtype)
    with event.install_recorder("numba:compile") as recorder:
        tic = time.perf_counter()
        model = fastgmm.GaussianMixture(3, covariance_type=covariance_type, random_state=0)
        model.fit(X)
        fit = time.perf_counter() - tic
        tic = time.perf_counter()
        model.predict(X)
        predict = time.perf_counter() - tic
    stack, exclusive = [], collections.Counter()
    for stamp, ev in recorder.buffer:
        func = ev.data["dispatcher"].py_func
        name = f"{func.__module__}.{func.__qualname__}"
        if ev.is_start:
            stack.append([name, stamp, 0.0])
            continue
        name, start, children = stack.pop()
        exclusive[name] += stamp - start - children
        if stack:
            stack[-1][2] += stamp - start
    groups = collections.Counter()
    for name, seconds in exclusive.items():
        key = name if name.startswith("fastgmm") else "numba/numpy helpers (np.empty, ...)"
        groups[key.replace("fastgmm._kernels.", "")] += seconds
    print(
        f"{covariance_type}/{dtype}: first fit {fit:.2f} s, first predict {predict:.2f} s; "
        f"compiling {sum(exclusive.values()):.2f} s"
    )
    for name, seconds in groups.most_common(12):
        print(f"  {seconds:6.2f} s  {name}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
