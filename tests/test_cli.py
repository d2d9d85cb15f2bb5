"""The command line, driven in a subprocess as a user would."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm.datasets import make_gaussian_mixture


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "fastgmm", *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    X, labels, _ = make_gaussian_mixture(6000, 2, 3, separation=12.0, random_state=5)
    np.save(d / "X.npy", X)
    np.savetxt(d / "X.csv", X, delimiter=",", header="a,b", comments="")
    np.savez(d / "X.npz", data=X)
    np.save(d / "w.npy", np.random.default_rng(0).integers(1, 3, len(X)).astype(float))
    return d, X


@pytest.mark.parametrize("fmt", ["npy", "csv"])
def test_fit_save_predict_score_round_trip(data, fmt):
    d, X = data
    model = d / f"model-{fmt}.npz"
    out = run("fit", d / f"X.{fmt}", "-k", 3, "--seed", 1, "-o", model).stdout
    assert "iter    1" in out and "lower bound" in out  # progress lines
    assert "converged after" in out and "BIC" in out  # summary
    gm = fastgmm.load(model)
    X_read = np.loadtxt(d / "X.csv", delimiter=",", skiprows=1) if fmt == "csv" else X
    expected = fastgmm.GaussianMixture(3, random_state=1).fit(X_read)
    assert_allclose(gm.means_, expected.means_, rtol=1e-10)

    run("predict", model, d / f"X.{fmt}", "-o", d / "labels.npy")
    assert_array_equal(np.load(d / "labels.npy"), gm.predict(X_read))
    run("predict", model, d / "X.npy", "-o", d / "proba.npy", "--proba")
    assert_allclose(np.load(d / "proba.npy"), gm.predict_proba(X), rtol=1e-12)

    score = run("score", model, d / f"X.{fmt}").stdout
    assert f"{gm.score(X_read):.6f}" in score


def test_fit_with_weights_and_npz(data):
    d, X = data
    run("fit", d / "X.npz", "--key", "data", "-k", 3, "--weights", d / "w.npy",
        "--covariance-type", "diag", "-o", d / "mw.npz")
    gm = fastgmm.load(d / "mw.npz")
    expected = fastgmm.GaussianMixture(3, covariance_type="diag", random_state=0).fit(
        X, sample_weight=np.load(d / "w.npy"))
    assert_allclose(gm.covariances_, expected.covariances_, rtol=1e-10)


def test_select_finds_true_k_and_plots(data):
    d, _ = data
    out = run("select", d / "X.npy", "-k", "1:6", "--plot", d / "bic.png").stdout
    assert "best by BIC: 3 components" in out
    png = (d / "bic.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert 10_000 < len(png) < 2_000_000


def test_plot_ellipses(data):
    d, _ = data
    run("fit", d / "X.npy", "-k", 3, "-o", d / "m.npz")
    run("plot", d / "m.npz", d / "X.npy", "-o", d / "ell.png")
    png = (d / "ell.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_info_and_demo():
    out = run("info").stdout
    assert "threading layer" in out and "numba" in out
    out = run("demo", "--n-samples", 20000, "--n-features", 2, "-k", 3).stdout
    assert "final log-likelihood" in out and "time per EM iteration" in out


@pytest.mark.parametrize("args, message", [
    (["fit", "missing.npy", "-k", 3], "no such file"),
    (["fit", "{d}/X.npy", "-k", 0], "n_components"),
    (["fit", "{d}/bad.npy", "-k", 2], "expected a 2-D array"),
    (["fit", "{d}/X.txtx", "-k", 2], "no such file"),
    (["fit", "{d}/X.npy", "-k", 2, "--weights", "{d}/short.npy"], "weights for"),
    (["select", "{d}/X.npy", "-k", "a:b"], "-k: expected"),
    (["select", "{d}/X.npy", "-k", "2", "--covariance-type", "round"], "unknown 'round'"),
    (["predict", "{d}/X.npy", "{d}/X.npy", "-o", "{d}/o.npy"], "not a fastgmm model"),
    (["plot", "{d}/m2.npz", "{d}/X.npy", "-o", "{d}/p.png", "--features", "0,7"],
     "features must be"),
])
def test_errors_are_one_line(data, args, message):
    d, X = data
    np.save(d / "bad.npy", np.arange(10.0))
    np.save(d / "short.npy", np.ones(5))
    run("fit", d / "X.npy", "-k", 2, "-o", d / "m2.npz")
    proc = run(*[a.format(d=d) if isinstance(a, str) else a for a in args], check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
