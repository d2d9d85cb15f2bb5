"""Beyond memory: a memory-mapped fit, a partial_fit stream, a Dask cluster.

    python -m benchmarks.out_of_core              # all three (about 5 minutes)
    python -m benchmarks.out_of_core --only memmap|stream|dask

memmap: fit on a 20,000,000 x 16 float32 .npy opened as a memory map
  (1.28 GB on disk; 16 full components, a fixed start, 5 iterations) in a
  fresh process: peak resident memory above the interpreter's baseline, both
  anonymous (RssAnon: what the process allocated) and in all (VmRSS, which
  also counts mapped file pages, i.e. page cache), and the largest relative
  difference from the same fit on the array loaded in memory.
stream: 1,000 batches of 200 rows from a known mixture through partial_fit,
  against fit on all 200,000 rows: the relative gap in mean log-likelihood.
dask: 10,000,000 x 16, 16 full components, on a LocalCluster of 2 worker
  processes (one thread each) against the in-memory fit on this machine:
  seconds per EM iteration and their ratio (the cluster's overhead).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

_MEMMAP = """
import json, threading, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from benchmarks.common import fixed_start
from fastgmm import GaussianMixture

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024

path = {path!r}
X = np.load(path, mmap_mode="r")
start = fixed_start(X, 16, "full")
params = dict(max_iter=5, tol=0, **start)
GaussianMixture(16, **params).fit(np.asarray(X[:20000]))  # compile outside
base_anon, base_rss = status("RssAnon:"), status("VmRSS:")
peak = {{"anon": 0, "rss": 0}}
done = []

def poll():
    while not done:
        peak["anon"] = max(peak["anon"], status("RssAnon:"))
        peak["rss"] = max(peak["rss"], status("VmRSS:"))
        time.sleep(0.01)

watcher = threading.Thread(target=poll)
watcher.start()
tic = time.perf_counter()
mm = GaussianMixture(16, **params).fit(X)
elapsed = time.perf_counter() - tic
done.append(1)
watcher.join()
mem = GaussianMixture(16, **params).fit(np.load(path))
diff = max(float(np.max(np.abs(getattr(mm, a) - getattr(mem, a)) / np.abs(getattr(mem, a)).max()))
           for a in ("weights_", "means_", "covariances_"))
print(json.dumps(dict(anon=peak["anon"] - base_anon, rss=peak["rss"] - base_rss,
                      seconds=elapsed, diff=diff,
                      ll_diff=abs(mm.lower_bound_ - mem.lower_bound_) / abs(mem.lower_bound_))))
"""


def bench_memmap():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npy")
        n, d = 20_000_000, 16
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
        rng = np.random.default_rng(0)
        centers = rng.normal(scale=6.0, size=(16, d))
        step = 1_000_000
        for s in range(0, n, step):
            labels = rng.integers(16, size=step)
            mm[s : s + step] = centers[labels] + rng.standard_normal((step, d), dtype=np.float32)
        mm.flush()
        del mm
        out = subprocess.run(
            [sys.executable, "-c", _MEMMAP.format(path=path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.dirname(__file__)),
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"memmap 20,000,000 x 16 float32 (1.28 GB), 16 full, 5 iterations: "
        f"peak anonymous memory +{r['anon'] / 1e6:.0f} MB, peak RSS incl. mapped pages "
        f"+{r['rss'] / 1e6:.0f} MB, fit {r['seconds']:.1f} s; max relative difference "
        f"from the in-memory fit {r['diff']:.1e} (lower bound {r['ll_diff']:.1e})"
    )


def bench_stream():
    from fastgmm import GaussianMixture
    from fastgmm.datasets import make_gaussian_mixture

    warnings.simplefilter("ignore")
    X, _, _ = make_gaussian_mixture(200_000, 3, 4, random_state=7)
    full = GaussianMixture(4, random_state=0).fit(X)
    online = GaussianMixture(4, random_state=0)
    tic = time.perf_counter()
    for batch in np.array_split(X, 1000):
        online.partial_fit(batch)
    elapsed = time.perf_counter() - tic
    gap = abs(online.score(X) - full.score(X)) / abs(full.score(X))
    print(
        f"stream 1,000 batches of 200 rows (3 features, 4 full): mean log-likelihood "
        f"{online.score(X):.5f} vs fit {full.score(X):.5f}: gap {gap:.3%} "
        f"({elapsed:.2f} s for the stream)"
    )


def bench_dask():
    import dask.array as da
    import distributed

    from benchmarks.common import fixed_start, mixture_data
    from fastgmm import GaussianMixture

    warnings.simplefilter("ignore")
    X = mixture_data(10_000_000, 16, 16, "float64")
    start = fixed_start(X, 16, "full")

    def per_iteration(data, extra=4):
        fit = lambda m: GaussianMixture(16, max_iter=m, tol=0, **start).fit(data)  # noqa
        fit(1)
        t1 = time.perf_counter()
        fit(1)
        t1 = time.perf_counter() - t1
        tn = time.perf_counter()
        fit(1 + extra)
        tn = time.perf_counter() - tn
        return (tn - t1) / extra

    local = per_iteration(X)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"NUMBA_NUM_THREADS": "1"},
        ) as cluster,
        distributed.Client(cluster),
    ):
        Xd = da.from_array(np.asarray(X), chunks=(500_000, 16)).persist()
        remote = per_iteration(Xd)
    print(
        f"dask 10,000,000 x 16, 16 full: {remote:.3f} s per EM iteration on a 2-worker "
        f"LocalCluster vs {local:.3f} s in memory: ratio {remote / local:.2f}x"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["memmap", "stream", "dask"])
    args = parser.parse_args(argv)
    benches = {"memmap": bench_memmap, "stream": bench_stream, "dask": bench_dask}
    for name, bench in benches.items():
        if args.only in (None, name):
            bench()


if __name__ == "__main__":
    main()
