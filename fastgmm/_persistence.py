"""The ``.npz`` model file format (no pickle): write it, and read it back as
untrusted input.

A file holds the fitted arrays and one JSON metadata string (format,
version, constructor parameters, scalar attributes).  Reading checks every
field against the others before a model is built, so a truncated, edited or
crafted file gives one ``ValueError`` naming the problem, never a model that
predicts garbage or a kernel that reads out of bounds.  Saving writes a
temporary file beside the target and renames it over the target, so a
failed save leaves the old file as it was.
"""

import json
import math
import os
import tempfile
from numbers import Integral

import numpy as np

from ._version import __version__

FORMAT = "fastgmm-model"
# 1: GaussianMixture.  2: BayesianGaussianMixture too (its files say so, with
# "estimator" in the metadata; GaussianMixture files stay version 1, readable
# by every fastgmm).
FORMAT_VERSION = 2
_BAYESIAN = "BayesianGaussianMixture"

_ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
# constructor parameters that may be arrays, written as "init__<name>" arrays
_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init", "mean_prior", "covariance_prior")
# the variational posterior and priors (float64 arrays; floats in the metadata)
_POSTERIOR_ARRAYS = (
    "weight_concentration_",
    "mean_precision_",
    "degrees_of_freedom_",
    "mean_prior_",
    "covariance_prior_",
)
_PRIOR_SCALARS = (
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "degrees_of_freedom_prior_",
)
_SCALARS = ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_")
# written since fastgmm 0.1.0; optional when reading
_DIAGNOSTICS = ("compile_time_", "init_time_", "iter_times_", "best_init_")
# (iteration, component, reason, action) lists; optional when reading
_EVENTS = "degenerate_events_"


def _json_value(name, value):
    if isinstance(value, np.generic):
        value = value.item()
    if name == "random_state" and not (value is None or isinstance(value, Integral)):
        return None  # a RandomState instance has no portable form
    return int(value) if isinstance(value, Integral) and not isinstance(value, bool) else value


def save(model, path):
    """Write a fitted mixture to ``path`` (.npz, readable without pickle)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    params = model.get_params()
    bayesian = type(model).__name__ == _BAYESIAN
    in_arrays = {
        name
        for name in _INIT_ARRAYS
        if name in params and params[name] is not None and not np.isscalar(params[name])
    }
    meta = {
        "format": FORMAT,
        "format_version": 2 if bayesian else 1,
        "fastgmm_version": __version__,
        "estimator": type(model).__name__,
        "params": {
            name: _json_value(name, value)
            for name, value in params.items()
            if name not in in_arrays
        },
        "converged_": bool(model.converged_),
        "n_iter_": int(model.n_iter_),
        "lower_bound_": float(model.lower_bound_),
        "lower_bounds_": [float(v) for v in model.lower_bounds_],
        "n_features_in_": int(model.n_features_in_),
    }
    for name in _DIAGNOSTICS:
        if hasattr(model, name):
            value = getattr(model, name)
            meta[name] = (
                [float(v) for v in value]
                if name == "iter_times_"
                else (int(value) if name == "best_init_" else float(value))
            )
    if hasattr(model, _EVENTS):
        meta[_EVENTS] = [
            [int(e[0]), int(e[1]), str(e[2]), str(e[3])] for e in model.degenerate_events_
        ]
    arrays = {name: np.asarray(getattr(model, name)) for name in _ARRAYS}
    for name in in_arrays:
        arrays["init__" + name] = np.asarray(params[name])
    if bayesian:
        for name in _POSTERIOR_ARRAYS:
            arrays[name] = np.asarray(getattr(model, name), dtype=np.float64)
        for name in _PRIOR_SCALARS:
            meta[name] = float(getattr(model, name))
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # np.savez would append .npz to other names
            np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _member(path, archive, name):
    """Array ``name`` of the archive; any failure to read it is a ValueError."""
    try:
        return archive[name]
    except Exception as exc:  # pickled objects, a corrupt or truncated member
        raise ValueError(
            f"{path}: not a fastgmm model file ({name}: {type(exc).__name__}: {exc})"
        ) from None


class _Reader:
    """Field-by-field checks of one model file; each failure names the file."""

    def __init__(self, path, archive, meta):
        self.path = path
        self.archive = archive
        self.meta = meta

    def fail(self, message):
        raise ValueError(f"{self.path}: {message}")

    def scalar(self, name, kind):
        if name not in self.meta:
            self.fail(f"metadata has no {name!r}")
        value = self.meta[name]
        ok = {
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "float": isinstance(value, (int, float))
            and not isinstance(value, bool)
            and not math.isnan(value),
        }[kind]
        if not ok:
            self.fail(f"{name} must be a{'n' if kind == 'int' else ''} {kind}, got {value!r}")
        return float(value) if kind == "float" else value

    def float_list(self, name):
        value = self.meta.get(name)
        if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            self.fail(f"{name} must be a list of numbers")
        return [float(v) for v in value]

    def array(self, name, shape, dtype):
        if name not in self.archive.files:
            self.fail(f"no array {name!r}")
        a = _member(self.path, self.archive, name)
        if a.dtype != dtype:
            self.fail(f"{name} has dtype {a.dtype}, expected {dtype} like weights_")
        if a.shape != shape:
            self.fail(f"{name} has shape {a.shape}, expected {shape}")
        if not np.isfinite(a).all():
            self.fail(f"{name} contains NaN or infinity")
        return a


def _read_meta(path, archive):
    if "__meta__" not in archive.files:
        raise ValueError(f"{path}: not a fastgmm model file (no metadata)")
    raw = _member(path, archive, "__meta__")
    if raw.dtype.kind != "U" or raw.shape != ():
        raise ValueError(f"{path}: not a fastgmm model file (bad metadata)")
    try:
        meta = json.loads(str(raw))
    except ValueError:
        raise ValueError(f"{path}: not a fastgmm model file (metadata is not JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fastgmm model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved by fastgmm {meta.get('fastgmm_version')} in model "
            f"format {version}; this fastgmm reads format "
            f"{FORMAT_VERSION} and older: upgrade fastgmm to load it."
        )
    return meta


def read_model(path, classes):
    """The fitted model in the file at ``path``, every field checked.

    ``classes`` maps the estimators' names to their classes: the file says
    which it holds (files without the name hold a GaussianMixture).
    """
    from sklearn.utils._param_validation import InvalidParameterError

    from ._mstep import precisions_from_cholesky
    from ._validation import (
        check_means,
        check_mixture_parameters,
        check_precisions,
        check_priors,
        check_weights,
    )

    try:
        archive = np.load(os.fspath(path), allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as exc:  # BadZipFile, EOFError, pickled content, ...
        raise ValueError(
            f"{path}: not a fastgmm model file ({type(exc).__name__}: {exc})"
        ) from None
    if not hasattr(archive, "files"):  # a plain .npy array
        raise ValueError(f"{path}: not a fastgmm model file (a bare array)")
    try:
        with archive:
            meta = _read_meta(path, archive)
            r = _Reader(path, archive, meta)
            name = meta.get("estimator", "GaussianMixture")
            if name not in classes:
                r.fail(f"unknown estimator {name!r}")
            estimator_class = classes[name]
            bayesian = name == _BAYESIAN
            params = meta.get("params")
            if not isinstance(params, dict):
                r.fail("metadata has no parameters")
            known = estimator_class().get_params()
            unknown = sorted(set(params) - set(known))
            if unknown:
                r.fail(f"unknown parameters {unknown}")
            params = dict(params)
            for name in _INIT_ARRAYS:
                key = "init__" + name
                if key in archive.files:
                    if name not in known:
                        r.fail(f"unknown parameters [{name!r}]")
                    value = _member(path, archive, key)
                    params[name] = value.item() if value.ndim == 0 else value
            model = estimator_class(**params)
            try:
                model._validate_params()
            except InvalidParameterError as exc:
                r.fail(str(exc))
            n_components, covariance_type = model.n_components, model.covariance_type

            n_features = r.scalar("n_features_in_", "int")
            if n_features < 1:
                r.fail("n_features_in_ must be at least 1")
            weights = _member(path, archive, "weights_") if "weights_" in archive.files else None
            if weights is None:
                r.fail("no array 'weights_'")
            dtype = weights.dtype
            if dtype not in (np.float32, np.float64):
                r.fail(f"weights_ has dtype {dtype}, expected float32 or float64")
            if getattr(model, "on_degenerate", "raise") != "raise":
                # the policy may have dropped components: as many as the file holds
                fitted = weights.shape[0] if weights.ndim == 1 else -1
                if 1 <= fitted <= n_components:
                    n_components = fitted
            weights = r.array("weights_", (n_components,), dtype)
            means = r.array("means_", (n_components, n_features), dtype)
            cov_shape = {
                "full": (n_components, n_features, n_features),
                "tied": (n_features, n_features),
                "diag": (n_components, n_features),
                "spherical": (n_components,),
            }[covariance_type]
            chol = r.array("precisions_cholesky_", cov_shape, dtype)
            precisions = r.array("precisions_", cov_shape, dtype)
            covariances = r.array("covariances_", cov_shape, dtype)
            check_mixture_parameters(
                weights, means, chol, covariance_type, normalized=True, what=f"{path}: "
            )
            if covariance_type in ("diag", "spherical") and not np.all(covariances > 0):
                r.fail("covariances_ must be positive")
            expected = precisions_from_cholesky(chol.astype(np.float64), covariance_type)
            tol = 1e-4 if dtype == np.float32 else 1e-10
            if not np.allclose(precisions, expected, rtol=tol, atol=tol * np.abs(expected).max()):
                r.fail("precisions_ disagree with precisions_cholesky_")

            names = None
            if "feature_names_in_" in archive.files:
                names = _member(path, archive, "feature_names_in_")
                if names.dtype.kind != "U" or names.shape != (n_features,):
                    r.fail(f"feature_names_in_ must be {n_features} strings")
            posterior = _read_posterior(r, model, n_features) if bayesian else {}
            try:  # the *_init arrays or the priors given, as fit would check them
                if bayesian:
                    check_priors(model, n_features)
                else:
                    k = model.n_components  # the parameter's, whatever was dropped
                    if model.weights_init is not None:
                        check_weights(model.weights_init, k)
                    if model.means_init is not None:
                        check_means(model.means_init, k, n_features)
                    if model.precisions_init is not None:
                        check_precisions(model.precisions_init, covariance_type, k, n_features)
            except ValueError as exc:
                r.fail(f"initial parameters: {exc}")

            n_iter = r.scalar("n_iter_", "int")
            converged = r.scalar("converged_", "bool")
            lower_bound = r.scalar("lower_bound_", "float")
            lower_bounds = r.float_list("lower_bounds_")
            diagnostics = {}
            for name in ("compile_time_", "init_time_"):
                if name in meta:
                    diagnostics[name] = r.scalar(name, "float")
            if "iter_times_" in meta:
                diagnostics["iter_times_"] = r.float_list("iter_times_")
            if "best_init_" in meta:
                diagnostics["best_init_"] = r.scalar("best_init_", "int")
            if _EVENTS in meta:
                diagnostics[_EVENTS] = _read_events(r, meta[_EVENTS])
    except ValueError:
        raise
    except Exception as exc:  # a member that cannot be read: truncated, corrupt
        raise ValueError(
            f"{path}: corrupt fastgmm model file ({type(exc).__name__}: {exc})"
        ) from None

    for name, value in posterior.items():
        setattr(model, name, value)
    model.weights_ = weights
    model.means_ = means
    model.covariances_ = covariances
    model.precisions_ = precisions
    model.precisions_cholesky_ = chol
    if names is not None:
        model.feature_names_in_ = names.astype(object)
    model.n_features_in_ = n_features
    model.n_iter_ = n_iter
    model.converged_ = converged
    model.lower_bound_ = lower_bound
    model.lower_bounds_ = lower_bounds
    for name, value in diagnostics.items():
        setattr(model, name, value)
    model.degenerate_events_ = diagnostics.get(_EVENTS, [])
    if not bayesian:
        model.n_components_ = int(weights.shape[0])
    return model


def _read_events(r, value):
    from ._degenerate import DegenerateEvent

    ok = isinstance(value, list) and all(
        isinstance(e, list)
        and len(e) == 4
        and all(isinstance(v, int) and not isinstance(v, bool) for v in e[:2])
        and all(isinstance(v, str) for v in e[2:])
        for e in value
    )
    if not ok:
        r.fail(f"{_EVENTS} must be a list of [iteration, component, reason, action]")
    return [DegenerateEvent(*e) for e in value]


def _read_posterior(r, model, n_features):
    """The variational posterior and priors of a BayesianGaussianMixture
    file, checked against each other and the weights already read."""
    from ._validation import check_priors
    from ._variational import mixture_weights

    if r.archive["weights_"].dtype != np.float64:
        r.fail("a BayesianGaussianMixture's arrays are float64")
    n_components, covariance_type = model.n_components, model.covariance_type
    dirichlet_process = model.weight_concentration_prior_type == "dirichlet_process"
    shape = (2, n_components) if dirichlet_process else (n_components,)
    concentration = r.array("weight_concentration_", shape, np.float64)
    mean_precision = r.array("mean_precision_", (n_components,), np.float64)
    tied = covariance_type == "tied"
    dof = r.array("degrees_of_freedom_", () if tied else (n_components,), np.float64)
    mean_prior = r.array("mean_prior_", (n_features,), np.float64)
    prior_shape = {
        "full": (n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_features,),
        "spherical": (),
    }[covariance_type]
    covariance_prior = r.array("covariance_prior_", prior_shape, np.float64)
    scalars = {name: r.scalar(name, "float") for name in _PRIOR_SCALARS}
    if not (np.all(concentration > 0) and np.all(mean_precision > 0)):
        r.fail("weight_concentration_ and mean_precision_ must be positive")
    if (
        not np.all(dof > n_features - 1)
        or not scalars["degrees_of_freedom_prior_"] > n_features - 1
    ):
        r.fail(f"the degrees of freedom must be greater than {n_features - 1}")
    if not (scalars["weight_concentration_prior_"] > 0 and scalars["mean_precision_prior_"] > 0):
        r.fail("the priors' concentrations and precisions must be positive")
    try:  # the covariance prior as fit checks a given one
        given = float(covariance_prior) if prior_shape == () else covariance_prior
        check_priors(
            type(model)(
                n_components=n_components, covariance_type=covariance_type, covariance_prior=given
            ),
            n_features,
        )
    except ValueError as exc:
        r.fail(f"covariance_prior_: {exc}")
    concentration = tuple(concentration) if dirichlet_process else concentration
    weights = mixture_weights(concentration, model.weight_concentration_prior_type)
    if not np.allclose(r.archive["weights_"], weights, rtol=1e-10, atol=1e-12):
        r.fail("weights_ disagree with weight_concentration_")
    return {
        "weight_concentration_": concentration,
        "mean_precision_": mean_precision,
        "degrees_of_freedom_": float(dof) if tied else dof,
        "mean_prior_": mean_prior,
        "covariance_prior_": float(covariance_prior) if prior_shape == () else covariance_prior,
        **scalars,
    }
