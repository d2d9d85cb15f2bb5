"""save/load to .npz, pickle and joblib round trips, patch_sklearn."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastgmm
from fastgmm import GaussianMixture

from _helpers import COVARIANCE_TYPES, make_mixture


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_exact(tmp_path, covariance_type, dtype):
    X, _ = make_mixture(500, 3, 3, dtype=dtype)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0, n_threads=1).fit(X)
    path = tmp_path / "model.npz"
    gm.save(path)
    back = fastgmm.load(path)
    assert_array_equal(back.score_samples(X), gm.score_samples(X))
    assert back.get_params()["n_threads"] == 1
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert getattr(back, name).dtype == getattr(gm, name).dtype
        assert_array_equal(getattr(back, name), getattr(gm, name))
    assert back.lower_bounds_ == gm.lower_bounds_
    assert back.n_iter_ == gm.n_iter_ and back.converged_ == gm.converged_
    # and it can go on fitting from there
    back.set_params(warm_start=True, max_iter=2).fit(X)


def test_save_load_keeps_init_arrays_and_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = make_mixture(200, 2, 2)
    gm = GaussianMixture(2, means_init=X[:2]).fit(pd.DataFrame(X, columns=["u", "v"]))
    gm.save(tmp_path / "m.npz")
    back = fastgmm.load(tmp_path / "m.npz")
    assert_array_equal(back.means_init, X[:2])
    assert list(back.feature_names_in_) == ["u", "v"]


def test_newer_format_says_so(tmp_path):
    import json

    X, _ = make_mixture(100, 2, 2)
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["__meta__"]))
    meta["format_version"] = 99
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "new.npz", **arrays)
    with pytest.raises(ValueError, match="format 99.*upgrade fastgmm"):
        fastgmm.load(tmp_path / "new.npz")
    np.savez(tmp_path / "other.npz", x=np.ones(3))
    with pytest.raises(ValueError, match="not a fastgmm model"):
        fastgmm.load(tmp_path / "other.npz")


def test_pickle_and_joblib(tmp_path):
    X, _ = make_mixture(300, 2, 2)
    gm = GaussianMixture(2, random_state=0).fit(X)
    assert_array_equal(pickle.loads(pickle.dumps(gm)).score_samples(X), gm.score_samples(X))
    joblib.dump(gm, tmp_path / "m.joblib")
    assert_array_equal(joblib.load(tmp_path / "m.joblib").score_samples(X), gm.score_samples(X))


def test_patch_sklearn_routes_unmodified_code():
    """An unmodified sklearn-using script fits with fastgmm under the patch."""
    user_code = textwrap.dedent("""
        import numpy as np
        from sklearn.mixture import GaussianMixture

        def cluster(X):  # third-party code, written against scikit-learn
            return GaussianMixture(n_components=2, random_state=0).fit(X)
    """)
    script = textwrap.dedent(f"""
        import sys, types
        import numpy as np
        import fastgmm
        X = np.random.default_rng(0).normal(size=(300, 2))
        fastgmm.patch_sklearn()
        lib = types.ModuleType("lib"); exec({user_code!r}, lib.__dict__)
        patched = type(lib.cluster(X)).__module__
        fastgmm.unpatch_sklearn()
        lib2 = types.ModuleType("lib2"); exec({user_code!r}, lib2.__dict__)
        restored = type(lib2.cluster(X)).__module__
        print(patched, restored)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["fastgmm._estimator", "sklearn.mixture._gaussian_mixture"]


def test_sklearn_patched_context():
    import sklearn.mixture

    original = sklearn.mixture.GaussianMixture
    with fastgmm.sklearn_patched():
        assert sklearn.mixture.GaussianMixture is GaussianMixture
        assert fastgmm.is_patched()
    assert sklearn.mixture.GaussianMixture is original
    assert not fastgmm.is_patched()


# ------------------------------------------------------------------ untrusted files


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    X, _ = make_mixture(300, 3, 2, seed=1)
    gm = GaussianMixture(2, random_state=np.int64(5), n_init=2).fit(X)
    gm.save(d / "m.npz")
    with np.load(d / "m.npz") as f:
        arrays = dict(f)
    return d, X, gm, arrays


def _rewrite(d, arrays, name="bad.npz", meta=None, **changes):
    import json

    out = dict(arrays)
    if meta is not None:
        m = json.loads(str(out["__meta__"]))
        meta(m)
        out["__meta__"] = np.array(json.dumps(m))
    out.update(changes)
    out = {k: v for k, v in out.items() if v is not None}
    np.savez(d / name, **out)
    return d / name


def test_round_trip_keeps_random_state_and_diagnostics(saved):
    d, X, gm, _ = saved
    back = fastgmm.load(d / "m.npz")
    assert back.random_state == 5 and back.get_params() == gm.get_params()
    assert back.init_time_ == gm.init_time_ and back.iter_times_ == gm.iter_times_
    assert back.best_init_ == gm.best_init_


def _set(key, value):
    def edit(meta):
        if key.startswith("params."):
            meta["params"][key[7:]] = value
        else:
            meta[key] = value

    return edit


def _lower_triangle_nonzero(arrays):
    chol = arrays["precisions_cholesky_"].copy()
    chol[0, 2, 0] = 0.5
    return chol


BAD_FILES = {
    "means of the wrong width": (lambda a: dict(means_=a["means_"][:, :2]), "means_ has shape"),
    "one factor for two components": (
        lambda a: dict(precisions_cholesky_=a["precisions_cholesky_"][:1]),
        "precisions_cholesky_ has shape",
    ),
    "three weights for two": (
        lambda a: dict(weights_=np.array([0.2, 0.3, 0.5])),
        "weights_ has shape",
    ),
    "negative weights": (lambda a: dict(weights_=np.array([1.5, -0.5])), "non-negative"),
    "weights not summing to one": (lambda a: dict(weights_=np.array([0.2, 0.3])), "sum to 1"),
    "NaN in the means": (
        lambda a: dict(means_=np.full_like(a["means_"], np.nan)),
        "NaN or infinity",
    ),
    "a factor that is not triangular": (
        lambda a: dict(precisions_cholesky_=_lower_triangle_nonzero(a)),
        "upper triangular",
    ),
    "a factor with a negative diagonal": (
        lambda a: dict(precisions_cholesky_=-a["precisions_cholesky_"]),
        "positive diagonal",
    ),
    "precisions that disagree": (lambda a: dict(precisions_=2 * a["precisions_"]), "disagree"),
    "float32 means beside float64 weights": (
        lambda a: dict(means_=a["means_"].astype(np.float32)),
        "dtype float32",
    ),
    "a missing array": (lambda a: dict(covariances_=None), "no array 'covariances_'"),
    "an edited covariance_type": (
        lambda a: dict(meta=_set("params.covariance_type", "diag")),
        "shape",
    ),
    "an edited n_components": (lambda a: dict(meta=_set("params.n_components", 3)), "shape"),
    "an impossible n_components": (
        lambda a: dict(meta=_set("params.n_components", -1)),
        "n_components",
    ),
    "an unknown parameter": (lambda a: dict(meta=_set("params.evil", 1)), "unknown param"),
    "an edited n_features_in_": (lambda a: dict(meta=_set("n_features_in_", 4)), "shape"),
    "a string n_iter_": (lambda a: dict(meta=_set("n_iter_", "7")), "n_iter_ must be"),
    "lower_bounds_ not numbers": (
        lambda a: dict(meta=_set("lower_bounds_", ["x"])),
        "lower_bounds_",
    ),
    "metadata that is not JSON": (lambda a: dict(__meta__=np.array("{not json")), "JSON"),
    "metadata of numbers": (lambda a: dict(__meta__=np.arange(3.0)), "bad metadata"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_inconsistent_files_raise_one_value_error(saved, case):
    d, X, _, arrays = saved
    change, message = BAD_FILES[case]
    path = _rewrite(d, arrays, **change(arrays))
    with pytest.raises(ValueError, match=message) as info:
        fastgmm.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_empty_and_foreign_files(saved, tmp_path):
    d, _, _, _ = saved
    data = (d / "m.npz").read_bytes()
    cases = {
        "empty.npz": b"",
        "truncated.npz": data[: len(data) // 2],
        "garbage.npz": bytes(range(256)) * 8,
        "header-only.npz": data[:30],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="fastgmm model file"):
            fastgmm.load(tmp_path / name)
    np.save(tmp_path / "bare.npy", np.arange(3))
    with pytest.raises(ValueError, match="bare array"):
        fastgmm.load(tmp_path / "bare.npy")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="no metadata"):
        fastgmm.load(tmp_path / "other.npz")
    np.savez(tmp_path / "objects.npz", __meta__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="fastgmm model file"):
        fastgmm.load(tmp_path / "objects.npz")


def test_crafted_file_cannot_crash_predict(saved):
    """A file whose means are far wider than its factors (once a
    segmentation fault in the kernels) is refused, in-process and by the CLI."""
    d, X, _, arrays = saved
    wide = np.ones((2, 4000))
    path = _rewrite(d, arrays, name="crafted.npz", means_=wide, meta=_set("n_features_in_", 4000))
    with pytest.raises(ValueError, match="shape"):
        fastgmm.load(path)
    np.save(d / "X.npy", X)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastgmm",
            "predict",
            str(path),
            str(d / "X.npy"),
            "-o",
            str(d / "p.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "shape" in proc.stderr


def test_kernels_refuse_parameters_set_by_hand(saved):
    _, X, gm, _ = saved
    broken = pickle.loads(pickle.dumps(gm))
    broken.means_ = np.ones((2, 5))
    with pytest.raises(ValueError, match="means has shape"):
        broken.predict(X)
    broken = pickle.loads(pickle.dumps(gm))
    broken.precisions_cholesky_ = gm.precisions_cholesky_[:1]
    with pytest.raises(ValueError, match="precisions_cholesky has shape"):
        broken.score_samples(X)


def test_failed_save_keeps_the_old_file(saved, tmp_path, monkeypatch):
    d, X, gm, _ = saved
    target = tmp_path / "model.npz"
    gm.save(target)
    before = target.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        gm.save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left
