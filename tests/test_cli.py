"""The command line, driven in a subprocess as a user would."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastgmm
from fastgmm import cli
from fastgmm._progress import ProgressReporter
from fastgmm.datasets import make_gaussian_mixture


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "fastgmm", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )
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
    np.save(d / "bad.npy", np.arange(10.0))
    np.save(d / "short.npy", np.ones(5))
    run("fit", d / "X.npy", "-k", 2, "-o", d / "m2.npz")
    return d, X


@pytest.mark.parametrize("fmt", ["npy", "csv"])
def test_fit_save_predict_score_round_trip(data, fmt, capsys):
    d, X = data
    model = d / f"model-{fmt}.npz"
    out = run("fit", d / f"X.{fmt}", "-k", 3, "--seed", 1, "-o", model).stdout
    if fmt == "npy":  # every command its own process, as a user runs them

        def command(*args):
            return run(*args).stdout

    else:  # the same commands in this process: what CSV adds is the reading

        def command(*args):
            rc, out, err = _main(capsys, *args)
            assert rc == 0, err
            return out

    assert "iter    1" in out and "lower bound" in out  # progress lines
    assert "init 1/1  initialising (kmeans)" in out and "initialised in" in out
    assert "converged after" in out and "BIC" in out  # summary
    gm = fastgmm.load(model)
    X_read = np.loadtxt(d / "X.csv", delimiter=",", skiprows=1) if fmt == "csv" else X
    expected = fastgmm.GaussianMixture(3, random_state=1).fit(X_read)
    assert_allclose(gm.means_, expected.means_, rtol=1e-10)

    command("predict", model, d / f"X.{fmt}", "-o", d / f"labels-{fmt}.npy")
    assert_array_equal(np.load(d / f"labels-{fmt}.npy"), gm.predict(X_read))
    command("predict", model, d / "X.npy", "-o", d / f"proba-{fmt}.npy", "--proba")
    assert_allclose(np.load(d / f"proba-{fmt}.npy"), gm.predict_proba(X), rtol=1e-12)

    score = command("score", model, d / f"X.{fmt}")
    assert f"{gm.score(X_read):.6f}" in score


def _main(capsys, *args):
    """The command line in this process (its kernels already loaded): (rc, out, err)."""
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_fit_bayesian_save_predict_score(data, capsys):
    d, X = data
    model = d / "bayes.npz"
    rc, out, _ = _main(
        capsys, "fit", d / "X.npy", "-k", 6, "--bayesian", "--weight-prior",
        "dirichlet_distribution", "--weight-concentration", 0.01, "--weights", d / "w.npy",
        "--seed", 2, "-o", model,
    )  # fmt: skip
    assert rc == 0
    w = np.load(d / "w.npy")
    expected = fastgmm.BayesianGaussianMixture(
        n_components=6, weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=0.01, random_state=2,
    ).fit(X, sample_weight=w)  # fmt: skip
    active = int(np.sum(expected.weights_ > cli.ACTIVE_WEIGHT))
    assert f"{active} of 6 components carry weight" in out
    assert "BIC" not in out
    bgm = fastgmm.load(model)
    assert type(bgm) is fastgmm.BayesianGaussianMixture
    assert_allclose(bgm.means_, expected.means_, rtol=1e-10)
    assert _main(capsys, "predict", model, d / "X.npy", "-o", d / "bayes-labels.npy")[0] == 0
    assert_array_equal(np.load(d / "bayes-labels.npy"), expected.predict(X))
    rc, score, _ = _main(capsys, "score", model, d / "X.npy")
    assert rc == 0 and f"{expected.score(X):.6f}" in score and "BIC" not in score
    rc, _, err = _main(capsys, "fit", d / "X.npy", "-k", 2, "--weight-prior", "dirichlet_process")
    assert rc != 0 and "need --bayesian" in err


def test_fit_on_degenerate_reports_events(tmp_path, capsys):
    rng = np.random.default_rng(0)
    points = rng.normal(scale=5.0, size=(20, 2))
    X = np.vstack([points, np.repeat(points[:10], 11, axis=0)])
    np.save(tmp_path / "dup.npy", X)
    model_path = tmp_path / "m.npz"
    args = ("fit", tmp_path / "dup.npy", "-k", 24, "--reg-covar", 0)
    rc, _, err = _main(capsys, *args)
    assert rc != 0 and "ill-defined empirical covariance" in err
    rc, out, _ = _main(capsys, *args, "--on-degenerate", "reseed", "-o", model_path)
    assert rc == 0
    expected = fastgmm.GaussianMixture(
        24, reg_covar=0.0, on_degenerate="reseed", random_state=0
    ).fit(X)  # fmt: skip
    for event in expected.degenerate_events_:
        assert str(event) in out
    assert f"{len(expected.degenerate_events_)} degenerate-component event(s)" in out
    assert fastgmm.load(model_path).degenerate_events_ == expected.degenerate_events_


def test_fit_with_weights_and_npz(data):
    d, X = data
    run(
        "fit",
        d / "X.npz",
        "--key",
        "data",
        "-k",
        3,
        "--weights",
        d / "w.npy",
        "--covariance-type",
        "diag",
        "-o",
        d / "mw.npz",
    )
    gm = fastgmm.load(d / "mw.npz")
    expected = fastgmm.GaussianMixture(3, covariance_type="diag", random_state=0).fit(
        X, sample_weight=np.load(d / "w.npy")
    )
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
    assert "threads" in out and "numba" in out
    out = run("demo", "--n-samples", 20000, "--n-features", 2, "-k", 3).stdout
    assert "final log-likelihood" in out and "time per EM iteration" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "missing.npy", "-k", 3], "no such file"),
        (["fit", "{d}/X.npy", "-k", 0], "n_components"),
        (["fit", "{d}/bad.npy", "-k", 2], "expected a 2-D array"),
        (["fit", "{d}/X.txtx", "-k", 2], "no such file"),
        (["fit", "{d}/X.npy", "-k", 2, "--weights", "{d}/short.npy"], "weights for"),
        (["select", "{d}/X.npy", "-k", "a:b"], "-k: expected"),
        (["select", "{d}/X.npy", "-k", "2", "--covariance-type", "round"], "unknown 'round'"),
        (["predict", "{d}/X.npy", "{d}/X.npy", "-o", "{d}/o.npy"], "not a fastgmm model"),
        (
            ["plot", "{d}/m2.npz", "{d}/X.npy", "-o", "{d}/p.png", "--features", "0,7"],
            "features must be",
        ),
        (["fit", "{d}/X.npy", "-k", 2, "-o", "{d}/missing/m.npz"], "no such folder"),
        (["predict", "{d}/m2.npz", "{d}/X.npy", "-o", "{d}/p.json"], "unknown output format"),
        (["predict", "{d}/m2.npz", "{d}/ragged.csv", "-o", "{d}/p.npy"], "line 3 has 3 fields"),
    ],
)
def test_errors_are_one_line(data, args, message, capsys):
    # in this process (an exception escaping main would fail the test, as a
    # traceback would); the one below runs the same in a process of its own
    (data[0] / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    d, X = data
    try:
        rc, _, err = _main(capsys, *[a.format(d=d) if isinstance(a, str) else a for a in args])
    except SystemExit as exc:  # argparse's own errors
        rc, err = exc.code, capsys.readouterr().err
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0]


def test_an_error_is_one_line_from_the_command(data):
    d, _ = data
    proc = run("fit", d / "X.npy", "-k", 0, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "n_components" in lines[0]
    assert "Traceback" not in proc.stderr


# In-process: the parsing and writing rules, without a fit in a subprocess.


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "text, expected, names",
    [
        ("1,2\n3,4\n", [[1, 2], [3, 4]], None),
        ("a,b\n1,2\n3,4\n", [[1, 2], [3, 4]], ["a", "b"]),
        (",a,b\n0,1,2\n1,3,4\n", [[1, 2], [3, 4]], ["a", "b"]),  # pandas' to_csv()
        ('"a";"b"\n"1.5";"2"\n"3";"4"\n', [[1.5, 2], [3, 4]], ["a", "b"]),
        ("x\ty\n1\t2\n3\t4\n", [[1, 2], [3, 4]], ["x", "y"]),
        ("1\n2\n3\n", [[1], [2], [3]], None),
        ("a, b\n1, 2\n\n3, 4\n", [[1, 2], [3, 4]], ["a", "b"]),
        ("\n\na,b\n1,2\n", [[1, 2]], ["a", "b"]),  # blank lines before the header
    ],
)
@pytest.mark.parametrize("with_pandas", [True, False])
def test_csv_rules(tmp_path, monkeypatch, text, expected, names, with_pandas):
    if not with_pandas:
        monkeypatch.setitem(sys.modules, "pandas", None)  # import fails
    else:
        pytest.importorskip("pandas")
    X, got_names = cli.read_csv(write(tmp_path / "d.csv", text))
    assert_array_equal(X, np.array(expected, dtype=float))
    assert got_names == names


@pytest.mark.parametrize(
    "text, message",
    [
        ("1,2\n3,4,5\n", "line 2 has 3 fields, expected 2"),
        ("1,2,3\n4,5\n", "line 2 has 2 fields, expected 3"),
        ("a,b\n1,\n", "line 2, column 2 is empty"),
        ("a,b\n1,x\n", "line 2, column 2: 'x' is not a number"),
        ("", "empty"),
        ("a,b\n", "no data rows"),
    ],
)
@pytest.mark.parametrize("with_pandas", [True, False])
def test_csv_errors_name_the_line(tmp_path, monkeypatch, text, message, with_pandas):
    if not with_pandas:
        monkeypatch.setitem(sys.modules, "pandas", None)
    else:
        pytest.importorskip("pandas")
    with pytest.raises(cli.CLIError, match=message):
        cli.read_csv(write(tmp_path / "d.csv", text))


def test_pandas_to_csv_round_trip_keeps_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _, _ = make_gaussian_mixture(300, 2, 2, random_state=1)
    pd.DataFrame(X, columns=["u", "v"]).to_csv(tmp_path / "f.csv")  # with its index
    got, names = cli.read_csv(str(tmp_path / "f.csv"))
    assert names == ["u", "v"] and got.shape == (300, 2)
    assert_allclose(got, X, rtol=1e-15)


def test_outputs_are_written_where_asked(tmp_path, capsys):
    assert cli.main(["make-data", str(tmp_path / "x.csv"), "--n-samples", "40"]) == 0
    assert "saved to " + str(tmp_path / "x.csv") in capsys.readouterr().out
    X, names = cli.read_csv(str(tmp_path / "x.csv"))
    assert X.shape == (40, 2) and names == ["x0", "x1"]
    assert cli.main(["make-data", str(tmp_path / "noext"), "--n-samples", "40"]) == 0
    out = capsys.readouterr().out
    assert "saved to " + str(tmp_path / "noext.npy") in out
    assert np.load(tmp_path / "noext.npy").shape == (40, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noext.npy", "x.csv"]


def test_unwritable_output_fails_before_the_work(tmp_path, capsys):
    X, _, _ = make_gaussian_mixture(100, 2, 2, random_state=1)
    np.save(tmp_path / "X.npy", X)
    assert (
        cli.main(
            ["fit", str(tmp_path / "X.npy"), "-k", "2", "-o", str(tmp_path / "nowhere" / "m.npz")]
        )
        == 1
    )
    captured = capsys.readouterr()
    assert "fitting" not in captured.out and "no such folder" in captured.err


def test_version_and_every_option_has_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"fastgmm {fastgmm.__version__}"
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, (name, action.dest)
        text = " ".join(sub.format_help().split())
        if name == "fit":
            assert "(default: 100)" in text and "(default: kmeans)" in text


class FakeTerminal:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_line_clears_what_it_shrinks_from_and_fits_the_terminal(monkeypatch):
    import os
    import shutil

    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a: os.terminal_size((40, 20)))
    term = FakeTerminal()
    reporter = ProgressReporter(stream=term)
    reporter.init_begin(0)
    reporter.iteration_end(1, -np.inf, -123456.789)
    reporter.iteration_end(2, 1.0, -1.0)
    lines = term.text.split("\r")[1:]
    assert all(len(line) <= 39 for line in lines)
    # the second line is padded to cover all of the first one
    assert len(lines[1]) >= len(lines[0].rstrip())


def test_component_colors_are_distinct():
    pytest.importorskip("matplotlib")
    from fastgmm.plotting import component_colors

    for k in (3, 10, 14, 20, 25, 40):
        colors = component_colors(k)
        assert len({tuple(np.round(c, 6)) for c in colors}) == k


def test_csv_wider_than_the_sniffed_head(tmp_path):
    names = [f"c{j}" for j in range(12_000)]  # a header line of ~70 KB
    row = ",".join("1.5" for _ in names)
    path = write(tmp_path / "wide.csv", ",".join(names) + "\n" + row + "\n" + row + "\n")
    X, got = cli.read_csv(path)
    assert X.shape == (2, 12_000) and got == names
