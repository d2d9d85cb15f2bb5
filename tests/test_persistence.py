"""save/load to .npz, pickle and joblib round trips, patch_sklearn."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from conftest import COVARIANCE_TYPES, make_mixture
from numpy.testing import assert_array_equal

import fastgmm
from fastgmm import GaussianMixture


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_exact(tmp_path, covariance_type, dtype):
    X, _ = make_mixture(500, 3, 3, dtype=dtype)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                         n_threads=1).fit(X)
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
    assert_array_equal(joblib.load(tmp_path / "m.joblib").score_samples(X),
                       gm.score_samples(X))


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
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["fastgmm._estimator", "sklearn.mixture._gaussian_mixture"]


def test_sklearn_patched_context():
    import sklearn.mixture

    original = sklearn.mixture.GaussianMixture
    with fastgmm.sklearn_patched():
        assert sklearn.mixture.GaussianMixture is GaussianMixture
        assert fastgmm.is_patched()
    assert sklearn.mixture.GaussianMixture is original
    assert not fastgmm.is_patched()
