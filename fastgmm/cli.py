"""Command line: ``fastgmm demo``."""

import argparse
import sys
import time

import numpy as np


def _demo(args):
    from . import GaussianMixture, _kernels
    from .datasets import make_gaussian_mixture

    dtype = np.float32 if args.float32 else np.float64
    print(
        f"fastgmm demo: {args.n_samples:,} x {args.n_features} {np.dtype(dtype).name} "
        f"points from {args.n_components} Gaussians, covariance_type="
        f"{args.covariance_type!r}, threads={args.threads or _kernels.max_threads()}"
    )
    tic = time.perf_counter()
    X, labels, _ = make_gaussian_mixture(
        args.n_samples, args.n_features, args.n_components, dtype=dtype,
        random_state=args.seed,
    )  # fmt: skip
    print(f"data generated in {time.perf_counter() - tic:.2f} s ({X.nbytes / 2**20:.0f} MiB)")

    gm = GaussianMixture(
        args.n_components, covariance_type=args.covariance_type, max_iter=args.max_iter,
        tol=args.tol, random_state=args.seed, n_threads=args.threads,
        verbose=2, verbose_interval=1,
    )  # fmt: skip
    tic = time.perf_counter()
    gm.fit(X)
    total = time.perf_counter() - tic
    per_iter = np.median(gm.iter_times_)
    agree = _label_agreement(gm.predict(X), labels, args.n_components)
    print()
    print(f"converged:               {gm.converged_} after {gm.n_iter_} iterations")
    print(f"final log-likelihood:    {gm.lower_bound_:.6f} per point")
    print(f"time per EM iteration:   {per_iter:.3f} s (median)")
    print(f"initialisation:          {gm.init_time_:.2f} s")
    print(f"whole fit:               {total:.2f} s")
    print(f"labels matching truth:   {agree:.1%} (best one-to-one matching)")
    return 0


def _label_agreement(pred, truth, n_components):
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((n_components, n_components), dtype=np.int64)
    np.add.at(counts, (pred, truth), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(truth)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fastgmm", description="Gaussian mixtures by EM, fast and lean."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit a built-in synthetic data set and show progress")
    demo.add_argument("--n-samples", type=int, default=1_000_000)
    demo.add_argument("--n-features", type=int, default=8)
    demo.add_argument("-k", "--n-components", type=int, default=8)
    demo.add_argument("--covariance-type", default="full",
                      choices=["full", "tied", "diag", "spherical"])
    demo.add_argument("--max-iter", type=int, default=100)
    demo.add_argument("--tol", type=float, default=1e-3)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--threads", type=int, default=None)
    demo.add_argument("--float32", action="store_true", help="fit float32 data")
    demo.set_defaults(func=_demo)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastgmm: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
