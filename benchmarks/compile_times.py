"""Where the compile time goes: seconds per jitted function (exclusive of the
functions it compiles in, from Numba's compile events), for the first fit and
the first predict of one covariance type and dtype (5000 rows: five blocks,
run on the pass's threads), in a fresh process with the disk cache off.

    python -m benchmarks.compile_times full float64        # one process, every function
    python -m benchmarks.compile_times --all               # a table, a fresh process a line
    python -m benchmarks.compile_times --all --features 8  # full's blocked path

``--all`` prints, per type and dtype: the first fit and predict, the block
function, the other fastgmm functions (the helpers compiled into the
block), Numba's own (``np.empty``, ...), and how many functions compiled.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time

TYPES = ("full", "tied", "diag", "spherical")
DTYPES = ("float64", "float32")


def measure(covariance_type, dtype, n_features=4):
    """(fit s, predict s, {function name: exclusive compile s}) in this process."""
    os.environ["FASTGMM_NUMBA_CACHE"] = "0"  # read at fastgmm's import
    import numpy as np
    from numba.core import event

    import fastgmm

    X = np.random.default_rng(0).normal(size=(5000, n_features)).astype(dtype)
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
    return fit, predict, dict(exclusive)


def _groups(exclusive):
    groups = collections.Counter()
    for name, seconds in exclusive.items():
        if not name.startswith("fastgmm"):
            groups["numba"] += seconds
        elif name.endswith("_block"):
            groups["block"] += seconds
        else:
            groups["helpers"] += seconds
    return groups


def table(n_features):
    print(
        f"first fit + predict of 5000 x {n_features} rows, 3 components, a fresh process "
        "each, cache off; compile seconds per jitted function, exclusive of those it "
        "compiles in, summed by kind"
    )
    print(
        f"{'type/dtype':<18} {'fit+predict':>11} {'block':>6} {'helpers':>8} "
        f"{'numba':>6} {'functions':>9}"
    )
    for covariance_type in TYPES:
        for dtype in DTYPES:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.compile_times", covariance_type, dtype,
                 "--features", str(n_features), "--json"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            fit, predict, exclusive = json.loads(out.stdout.strip().splitlines()[-1])
            g = _groups(exclusive)
            print(
                f"{covariance_type + '/' + dtype:<18} {fit + predict:>11.2f} {g['block']:>6.2f} "
                f"{g['helpers']:>8.2f} {g['numba']:>6.2f} "
                f"{len(exclusive):>9}",
                flush=True,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("covariance_type", nargs="?", choices=TYPES, default="full")
    parser.add_argument("dtype", nargs="?", choices=DTYPES, default="float64")
    parser.add_argument("--all", action="store_true", help="every type and dtype, a table")
    parser.add_argument("--features", type=int, default=4)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.all:
        table(args.features)
        return
    fit, predict, exclusive = measure(args.covariance_type, args.dtype, args.features)
    if args.json:
        print(json.dumps([fit, predict, exclusive]))
        return
    print(
        f"{args.covariance_type}/{args.dtype}: first fit {fit:.2f} s, first predict "
        f"{predict:.2f} s; compiling {sum(exclusive.values()):.2f} s in "
        f"{len(exclusive)} functions"
    )
    for name, seconds in sorted(exclusive.items(), key=lambda item: -item[1]):
        print(f"  {seconds:6.2f} s  {name.replace('fastgmm._kernels.', '')}")


if __name__ == "__main__":
    main()
