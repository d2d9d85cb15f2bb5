"""Nothing is compiled at import; the on-disk cache can be switched off, and
it never serves machine code compiled from other sources than today's."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

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
    """The block functions and the parallel loop (the entry points) are
    cached unless the switch is off; the helpers compiled into them never
    are (their machine code is in the entry points')."""
    code = _KERNELS + (
        "entry = [f for f in jitted if f.targetoptions.get('no_cpython_wrapper') is not True]\n"
        "helpers = [f for f in jitted if f not in entry]\n"
        "print(json.dumps([sorted(f.__name__ for f in entry),\n"
        "                  sorted({type(f._cache).__name__ for f in entry}),\n"
        "                  sorted({type(f._cache).__name__ for f in helpers})]))"
    )
    names = sorted(["_full_block", "_tied_block", "_diag_block", "_nearest_block",
                    "_candidates_block", "_lloyd_block"])  # fmt: skip
    assert run(code, FASTGMM_NUMBA_CACHE="1") == [names, ["FunctionCache"], ["NullCache"]]
    assert run(code, FASTGMM_NUMBA_CACHE="0") == [names, ["NullCache"], ["NullCache"]]


def test_editing_a_shared_helper_recompiles(tmp_path):
    """Numba checks only the stamp of a kernel's own file: an edit to a helper
    module it calls must still give the new result, through fastgmm's cache
    guard.  The kernel here is a small cached entry point added beside the
    block functions, which compiles in the tile's exps (``_tiles.py``) and
    the exp of ``_vector.py``, as every family's block does; the guard clears
    the kernels' cache folder as a whole, so a small kernel tests it as well
    as a block would, in a fraction of the compile time."""
    copy = tmp_path / "fastgmm"
    shutil.copytree(
        pathlib.Path(fastgmm.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    (copy / "_kernels" / "_probe.py").write_text(
        "from numba import njit\n"
        "from ._tiles import _tile_exps\n"
        "from ._vector import _BLOCK\n\n\n"
        "@njit(**_BLOCK)\n"
        "def probe(logp, lse, total):\n"
        "    _tile_exps(logp, lse, total)\n"
    )
    code = (
        "import json, numpy as np\n"
        "import fastgmm._kernels\n"
        "from fastgmm._kernels._probe import probe\n"
        "assert probe.py_func.__code__.co_filename.startswith(%r)\n"
        "logp = np.linspace(-30.0, 2.0, 64).reshape(4, 16)\n"
        "lse, total = np.empty(16), np.empty(16)\n"
        "probe(logp.copy(), lse, total)\n"
        "stats = probe.stats\n"
        "print(json.dumps([(lse + np.log(total)).tolist(), sum(stats.cache_hits.values()),\n"
        "                  sum(stats.cache_misses.values())]))" % str(tmp_path)
    )
    env = dict(PYTHONPATH=str(tmp_path), FASTGMM_NUMBA_CACHE="1", NUMBA_CACHE_DIR="")
    before, hits, misses = run(code, cwd=tmp_path, **env)
    assert (hits, misses) == (0, 1)
    logp = np.linspace(-30.0, 2.0, 64).reshape(4, 16)
    np.testing.assert_allclose(before, np.log(np.exp(logp).sum(axis=0)), rtol=1e-13)
    assert run(code, cwd=tmp_path, **env) == [before, 1, 0]  # served from the cache now
    cached = list((copy / "_kernels" / "__pycache__").glob("*.nbi"))
    assert cached, "the kernels were not cached in the package"

    helper = copy / "_kernels" / "_vector.py"
    text = helper.read_text()
    line = "        e = p * scale if u > _LOG_FLOOR else 0.0\n"
    assert line in text
    doubled = "        e = 2.0 * p * scale if u > _LOG_FLOOR else 0.0\n"
    helper.write_text(text.replace(line, doubled))
    after, hits, misses = run(code, cwd=tmp_path, **env)
    assert (hits, misses) == (0, 1)  # the guard removed the stale machine code
    # every exp doubled: log p(x) grows by log 2
    assert max(abs(a - b - 0.6931471805599453) for a, b in zip(after, before)) < 1e-9
    assert run(code, cwd=tmp_path, **env) == [after, 1, 0]
    assert run(code, cwd=tmp_path, **dict(env, FASTGMM_NUMBA_CACHE="0"))[0] == after


def test_first_use_says_it_compiles_then_warmup_fills_the_cache(tmp_path):
    """In an empty cache, `fastgmm fit` says that it compiles and reports that
    time apart from the initialisation.  After `fastgmm warmup` for that type
    and dtype, a fit, predict_proba, predict and score_samples in a fresh
    process load every kernel they run from the disk cache: no cache miss,
    so nothing compiles."""
    env = dict(NUMBA_CACHE_DIR=str(tmp_path / "cache"), FASTGMM_NUMBA_CACHE="1")
    data = tmp_path / "X.npy"
    np.save(data, np.random.default_rng(2).normal(size=(3000, 3)).astype(np.float32))

    def cli(*args):
        proc = subprocess.run(
            [sys.executable, "-m", "fastgmm", *args],
            capture_output=True, text=True, env={**os.environ, **env}, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    out = cli("fit", str(data), "-k", "2", "--covariance-type", "diag")
    assert "compiling kernels for diag/float32, first use only\nkernels compiled in " in out
    assert ", init " in out and "(compile " in out
    # --no-kmeans: this test's fits start from scikit-learn's k-means (at most
    # 2**17 rows); the k-means kernels' warm-up has its own test
    out = cli("warmup", "--covariance-type", "diag", "--dtype", "float32", "--no-kmeans")
    assert "kernels for diag/float32:" in out and "kernels ready" in out
    assert "kmeans" not in out
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
    assert n_used >= 1 and misses == 0 and hits >= n_used


class _Recorder:
    def __init__(self):
        self.calls = []

    def compile_begin(self, what):
        self.calls.append(("begin", what))

    def compile_end(self, seconds):
        self.calls.append(("end", seconds))


def test_a_slow_first_use_is_announced_once(monkeypatch):
    from fastgmm import _warmup

    compiled = []

    def slow(covariance_type, dtype, n_features=3):
        time.sleep(_warmup._ANNOUNCE_AFTER + 0.5)
        compiled.append((covariance_type, np.dtype(dtype).name))
        _warmup._ready.add((covariance_type, np.dtype(dtype).name, ""))

    monkeypatch.setattr(_warmup, "_ready", set())
    monkeypatch.setattr(_warmup, "compile_kernels", slow)
    reporter = _Recorder()
    seconds = _warmup.ensure_kernels("diag", np.float32, reporter)
    assert compiled == [("diag", "float32")]
    assert reporter.calls == [("begin", "diag/float32"), ("end", seconds)]
    assert seconds > _warmup._ANNOUNCE_AFTER
    # once run, never again, and nothing said
    assert _warmup.ensure_kernels("diag", np.float32, reporter) == 0.0
    assert len(compiled) == 1 and len(reporter.calls) == 2


def test_a_quick_first_use_says_nothing(monkeypatch):
    from fastgmm import _warmup

    monkeypatch.setattr(_warmup, "_ready", set())
    monkeypatch.setattr(_warmup, "compile_kernels", lambda *args: None)
    reporter = _Recorder()
    assert _warmup.ensure_kernels("full", np.float64, reporter) < 0.5
    assert reporter.calls == []


def test_verbose_fit_reports_compilation_apart(monkeypatch, capsys):
    from fastgmm import _warmup

    real = _warmup.compile_kernels

    def slow(*args):
        time.sleep(_warmup._ANNOUNCE_AFTER + 0.3)
        real(*args)

    monkeypatch.setattr(_warmup, "_ready", set())
    monkeypatch.setattr(_warmup, "compile_kernels", slow)
    X = np.random.default_rng(0).normal(size=(200, 2))
    gm = fastgmm.GaussianMixture(2, covariance_type="spherical", verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "compiling kernels for spherical/float64, first use only",
        f"kernels compiled in {gm.compile_time_:.2f} s",
        "Initialization 0",
    ]
    assert gm.compile_time_ > _warmup._ANNOUNCE_AFTER > gm.init_time_
    again = fastgmm.GaussianMixture(2, covariance_type="spherical", verbose=1).fit(X)
    assert again.compile_time_ == 0.0
    assert "compiling" not in capsys.readouterr().out


def test_more_rows_compile_nothing_more(monkeypatch):
    """The threads of a pass call the block function that the first use
    compiled on a few rows: a fit of many blocks after one of a single block
    compiles (and announces) nothing."""
    from fastgmm import _warmup
    from fastgmm._config import BLOCK_ROWS
    from fastgmm._kernels import RUN

    calls = []
    real = _warmup.compile_kernels

    def spy(covariance_type, dtype, n_features=3):
        calls.append((covariance_type, np.dtype(dtype).name))
        real(covariance_type, dtype, n_features)

    monkeypatch.setattr(_warmup, "_ready", set())
    monkeypatch.setattr(_warmup, "compile_kernels", spy)
    X = np.random.default_rng(0).normal(size=(9 * BLOCK_ROWS, 2))
    small = fastgmm.GaussianMixture(2, covariance_type="diag", random_state=0)
    small.fit(X[:BLOCK_ROWS]).predict(X[:100])
    assert calls == [("diag", "float64")]
    signatures = list(RUN["diag"].signatures)
    large = fastgmm.GaussianMixture(2, covariance_type="diag", random_state=0, n_threads=2)
    large.fit(X).predict(X)
    assert calls == [("diag", "float64")]
    assert RUN["diag"].signatures == signatures


def test_a_large_kmeans_start_announces_its_kernels(monkeypatch, capsys):
    """Beyond 2^17 rows the kmeans start runs fastgmm's k-means kernels:
    their first use is compiled, timed and announced with the others; a
    smaller fit, or one whose start is given or random, does not run them."""
    from fastgmm import _warmup
    from fastgmm._config import INIT_SAMPLE_ROWS

    compiled = []
    real = _warmup.compile_kmeans_kernels

    def slow(dtype=np.float64):
        time.sleep(_warmup._ANNOUNCE_AFTER + 0.3)
        compiled.append(np.dtype(dtype).name)
        real(dtype)

    monkeypatch.setattr(_warmup, "compile_kmeans_kernels", slow)
    monkeypatch.setattr(_warmup, "_ready", {("full", "float64", "up to 4 features")})
    X = np.random.default_rng(0).normal(size=(INIT_SAMPLE_ROWS + 1, 2))
    gm = fastgmm.GaussianMixture(2, max_iter=0).fit(X[:1000])
    start = dict(
        weights_init=[0.5, 0.5], means_init=[[0, 0], [1, 1]], precisions_init=gm.precisions_
    )
    fastgmm.GaussianMixture(2, max_iter=0, **start).fit(X)
    fastgmm.GaussianMixture(2, max_iter=0, init_params="random").fit(X)
    assert compiled == []
    capsys.readouterr()
    gm = fastgmm.GaussianMixture(2, max_iter=0, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert compiled == ["float64"]
    assert lines[:2] == [
        "compiling kernels for kmeans/float64, first use only",
        f"kernels compiled in {gm.compile_time_:.2f} s",
    ]
    assert gm.compile_time_ > _warmup._ANNOUNCE_AFTER


def test_warmup_function():
    import io

    out = io.StringIO()
    seconds = fastgmm.warmup(["spherical"], [np.float64], file=out)
    assert list(seconds) == [("spherical", "float64"), ("kmeans", "float64")]
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "kernels for spherical/float64",
        "kernels for kmeans/float64",
    ]
    assert list(fastgmm.warmup("diag", "float32", kmeans=False, verbose=False)) == [
        ("diag", "float32")
    ]
    # the k-means kernels are float64 for data of either dtype: one line
    assert list(fastgmm.warmup("diag", ["float32", "float64"], verbose=False)) == [
        ("diag", "float32"), ("diag", "float64"), ("kmeans", "float64")
    ]  # fmt: skip
    with pytest.raises(ValueError, match="float64 only"):
        _warmup_module().compile_kmeans_kernels(np.float32)
    with pytest.raises(ValueError, match="covariance_type"):
        fastgmm.warmup(["round"])
    with pytest.raises(ValueError, match="dtype"):
        fastgmm.warmup(["full"], [np.int32])


def test_full_compiles_the_path_its_width_needs():
    """Full and tied covariances have a path for at most four features and
    one for more, chosen when Numba compiles (by the factors' layout): a fit
    compiles the one its data runs, and nothing of the other."""
    code = (
        "import json, numpy as np, fastgmm\n"
        "from numba.core import event\n"
        "from fastgmm._kernels import RUN\n"
        "def helpers(covariance_type, d, modules):\n"
        "    X = np.random.default_rng(0).normal(size=(2000, d))\n"
        "    gm = fastgmm.GaussianMixture(2, covariance_type=covariance_type, max_iter=2)\n"
        "    with event.install_recorder('numba:compile') as rec:\n"
        "        gm.fit(X).predict(X)\n"
        "    return sorted({e.data['dispatcher'].py_func.__name__ for _, e in rec.buffer\n"
        "                   if e.is_start and e.data['dispatcher'].py_func.__module__\n"
        "                   in modules})\n"
        "tied = helpers('tied', 3, ['fastgmm._kernels.tied', 'fastgmm._kernels._blocks'])\n"
        "full = ['fastgmm._kernels.full']\n"
        "small, wide = helpers('full', 3, full), helpers('full', 6, full)\n"
        "ndims = sorted(sig[6].ndim for sig in RUN['full'].signatures)\n"
        "print(json.dumps([small, wide, ndims, tied, RUN['tied'].signatures[0][6].ndim]))"
    )
    # (2,000 rows: two blocks, no parallel loop; unoptimised machine code:
    # what compiles is the question here, not how fast it runs; tied first,
    # as the helpers it shares with full compile once)
    small, wide, ndims, tied, tied_ndim = run(code, FASTGMM_NUMBA_CACHE="0", NUMBA_OPT="0")
    assert small == ["_full_block", "_scaled_scatter2", "_tile_stats_small"]
    assert wide == ["_full_block", "_tile_log_prob_full", "_tile_stats_full"]
    assert ndims == [2, 3]  # the factors (lower) per row, then as matrices
    assert tied_ndim == 1  # tied's factor as one row
    assert "_lower_diagonal" in tied and "_add_diagonal_block" in tied
    assert not {"_lower_rows", "_add_scatter_blocks", "_add_scatter_block"} & set(tied), tied


def test_warmup_compiles_both_paths_of_full(monkeypatch):
    """``warmup`` runs full's kernel (and tied's) for data of each width, a
    line each, and a first use announces full's kernel with its width."""
    import io

    from fastgmm import _warmup

    calls = []

    def record(covariance_type, dtype, n_features=3):
        calls.append((covariance_type, np.dtype(dtype).name, n_features))

    monkeypatch.setattr(_warmup, "compile_kernels", record)
    out = io.StringIO()
    seconds = fastgmm.warmup(["full", "diag"], ["float32"], kmeans=False, file=out)
    assert list(seconds) == [("full", "float32"), ("diag", "float32")]
    assert calls == [("full", "float32", 3), ("full", "float32", 5), ("diag", "float32", 3)]
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == [
        "kernels for full/float32 (up to 4 features)",
        "kernels for full/float32 (5 features or more)",
        "kernels for diag/float32",
    ]

    def slow(covariance_type, dtype, n_features=3):
        time.sleep(_warmup._ANNOUNCE_AFTER + 0.3)

    monkeypatch.setattr(_warmup, "_ready", set())
    monkeypatch.setattr(_warmup, "compile_kernels", slow)
    reporter = _Recorder()
    _warmup.ensure_kernels("full", np.float64, reporter, n_features=7)
    assert reporter.calls[0] == ("begin", "full/float64 (5 features or more)")


def _warmup_module():
    from fastgmm import _warmup

    return _warmup


def _make_read_only(path):
    """Make a tree unwritable even for root (chattr +i), or by permissions;
    returns a function that undoes it, or None when neither works here."""
    if os.geteuid() == 0:
        proc = subprocess.run(["chattr", "-R", "+i", str(path)], capture_output=True)
        undo = lambda: subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True)  # noqa: E731
        if proc.returncode != 0:
            return None
    else:
        for p in [path, *path.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)

        def undo():
            for p in [path, *path.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)

    try:  # the probe: can anything still be written there?
        (path / "probe").write_text("x")
    except OSError:
        return undo
    (path / "probe").unlink()
    undo()
    return None


def test_read_only_install_caches_per_user(tmp_path):
    """Installed where it cannot write (a system site-packages, a container
    layer), fastgmm still caches its kernels: Numba falls back to the
    per-user cache folder, and a second process loads from it."""
    site = tmp_path / "site"
    shutil.copytree(
        pathlib.Path(fastgmm.__file__).parent,
        site / "fastgmm",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    home = tmp_path / "home"
    home.mkdir()
    undo = _make_read_only(site)
    if undo is None:
        pytest.skip("no way to make a read-only folder on this machine")
    try:
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        env.update(PYTHONPATH=str(site), HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                   FASTGMM_NUMBA_CACHE="1", PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
        code = (
            "import json, numpy as np, fastgmm\n"
            "from fastgmm._kernels import RUN\n"
            "assert fastgmm.__file__.startswith(%r)\n"
            "X = np.random.default_rng(0).normal(size=(500, 3))\n"
            "gm = fastgmm.GaussianMixture(2, covariance_type='spherical', random_state=0).fit(X)\n"
            "labels = gm.predict(X)\n"
            "k = RUN['spherical']\n"
            "print(json.dumps([str(k._cache._cache_path), sum(k.stats.cache_misses.values()),\n"
            "                  sum(k.stats.cache_hits.values()), gm.means_.tolist()]))" % str(site)
        )

        def fresh_process():
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env,
                cwd=tmp_path, timeout=600,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr[-3000:]
            return json.loads(out.stdout.strip().splitlines()[-1])

        path, misses, hits, means = fresh_process()
        assert path.startswith(str(home / ".cache")), path
        assert misses >= 1 and hits == 0
        path_2, misses, hits, means_2 = fresh_process()
        assert (path_2, misses) == (path, 0)
        assert hits >= 1
        # Not bitwise: the process that compiles runs parts of the kernel as
        # optimised on their own, later ones the copies linked into the
        # cached kernel (see README, "Reproducibility").
        np.testing.assert_allclose(means_2, means, rtol=1e-12)
        assert not list(site.rglob("*.nbi"))
    finally:
        undo()


def test_one_compiled_kernel_per_type_and_dtype(tmp_path):
    """A fit (every init_params, weights, memory maps, warm starts, partial_fit)
    and every prediction after it run one compiled signature of their
    type's block function per dtype: nothing compiles twice."""
    from fastgmm._kernels import RUN

    from _helpers import COVARIANCE_TYPES, make_mixture

    for dtype in (np.float64, np.float32):
        X = make_mixture(3000, 3, 2, dtype=dtype)[0]
        np.save(tmp_path / "X.npy", X)
        mm = np.load(tmp_path / "X.npy", mmap_mode="r")
        w = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
        for covariance_type in COVARIANCE_TYPES:
            gm = fastgmm.GaussianMixture(2, covariance_type=covariance_type, random_state=0)
            for init in ("kmeans", "k-means++", "random", "random_from_data"):
                gm.set_params(init_params=init).fit(X, sample_weight=w)
            gm.fit(mm)
            gm.set_params(warm_start=True).fit(X)
            gm.partial_fit(X[:500])
            gm.fit_predict(X)
            gm.predict(mm)
            gm.predict_proba(X)
            gm.score_samples(X)
    for covariance_type, kernel in RUN.items():
        # one per dtype (after first, last) and per layout of the factors
        # (its ndim): full's and tied's small and blocked paths (these fits
        # ran the small ones; other tests in this process may have run the
        # others), diag's and spherical's (one block function)
        variants = [(str(sig[2].dtype), sig[6].ndim) for sig in kernel.signatures]
        assert len(variants) == len(set(variants)), (covariance_type, variants)
        assert {dtype for dtype, _ in variants} == {"float32", "float64"}, variants
        assert len(variants) <= 4, variants
