"""Saving and loading fitted models as portable ``.npz`` files (no pickle)."""

import json
import os

import numpy as np

FORMAT = "fastgmm-model"
FORMAT_VERSION = 1

_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")


def save(model, path):
    """Write a fitted GaussianMixture to ``path`` (.npz, readable without pickle)."""
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(model)
    params = model.get_params()
    json_params = {}
    for name, value in params.items():
        if name in _INIT_ARRAYS:
            continue
        if name == "random_state" and not (value is None or isinstance(value, int)):
            value = None  # a RandomState instance has no portable form
        json_params[name] = value.item() if isinstance(value, np.generic) else value
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastgmm_version": __version__,
        "params": json_params,
        "converged_": bool(model.converged_),
        "n_iter_": int(model.n_iter_),
        "lower_bound_": float(model.lower_bound_),
        "lower_bounds_": [float(v) for v in model.lower_bounds_],
        "n_features_in_": int(model.n_features_in_),
    }
    arrays = {name: getattr(model, name) for name in _ARRAYS}
    for name in _INIT_ARRAYS:
        if params[name] is not None:
            arrays["init__" + name] = np.asarray(params[name])
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    path = os.fspath(path)
    with open(path, "wb") as f:  # np.savez would append .npz to other names
        np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)


def load(path):
    """Read a model written by :meth:`GaussianMixture.save`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : fastgmm.GaussianMixture
        Fitted, with the saved parameters and attributes.
    """
    from ._estimator import GaussianMixture

    try:
        data = np.load(os.fspath(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a fastgmm model file ({exc})") from None
    if not hasattr(data, "files"):  # a plain .npy array
        raise ValueError(f"{path}: not a fastgmm model file (a bare array)")
    with data:
        if "__meta__" not in data.files:
            raise ValueError(f"{path}: not a fastgmm model file (no metadata)")
        meta = json.loads(str(data["__meta__"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a fastgmm model file")
        if meta["format_version"] > FORMAT_VERSION:
            raise ValueError(
                f"{path} was saved by fastgmm {meta.get('fastgmm_version')} in model "
                f"format {meta['format_version']}; this fastgmm reads format "
                f"{FORMAT_VERSION} and older: upgrade fastgmm to load it."
            )
        params = dict(meta["params"])
        for name in _INIT_ARRAYS:
            key = "init__" + name
            params[name] = data[key] if key in data.files else None
        model = GaussianMixture(**params)
        for name in _ARRAYS:
            setattr(model, name, data[name])
        if "feature_names_in_" in data.files:
            model.feature_names_in_ = data["feature_names_in_"].astype(object)
    for name in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_"):
        setattr(model, name, meta[name])
    return model
