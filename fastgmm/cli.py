"""The ``fastgmm`` command line (also ``python -m fastgmm``).

    fastgmm fit DATA -k 16 -o model.npz     fit, with a progress line per EM iteration
    fastgmm predict MODEL DATA -o labels.npy [--proba]
    fastgmm score MODEL DATA
    fastgmm select DATA -k 1:20 [--covariance-type all] [--plot bic.png]
    fastgmm plot MODEL DATA -o ellipses.png [--features 0,1]
    fastgmm demo                            fit a built-in synthetic data set
    fastgmm make-data blobs.npy             write a synthetic data set
    fastgmm warmup                          compile and cache the kernels ahead of use
    fastgmm info                            versions, threads, cache

DATA is ``.npy`` (opened as a memory map, read in place), ``.npz`` (its first
array, or ``--key``) or ``.csv`` (numbers; the delimiter is sniffed, a header
line is kept as the column names, a pandas index column is dropped, and a
ragged line or empty cell is an error naming its line).  Outputs are written
in the format their extension names.  Errors are one line on stderr and a
non-zero exit status.
"""

import argparse
import os
import sys
import time

import numpy as np

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


class CLIError(Exception):
    """An error to report as one line."""


# ------------------------------------------------------------------ data


def load_data(path, key=None):
    """A 2-D float array from .npy (memory-mapped), .npz or .csv/.txt."""
    return load_table(path, key)[0]


def load_table(path, key=None):
    """``(X, feature_names)``: the array of :func:`load_data`, and a CSV
    file's column names if it has a header line (else None)."""
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    names = None
    try:
        if ext == ".npy":
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        elif ext == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if not archive.files:
                    raise CLIError(f"{path}: the archive holds no array")
                name = key or archive.files[0]
                if name not in archive.files:
                    raise CLIError(f"{path}: no array {name!r} (has {archive.files})")
                X = archive[name]
        elif ext in (".csv", ".txt"):
            X, names = read_csv(path)
        else:
            raise CLIError(f"{path}: unknown data format {ext!r} (use .npy, .npz or .csv)")
    except CLIError:
        raise
    except Exception as exc:  # numpy's parse and format errors
        raise CLIError(f"{path}: cannot read: {exc}") from None
    if X.ndim != 2:
        raise CLIError(f"{path}: expected a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise CLIError(f"{path}: expected numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    return X, names


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(path):
    """Numbers from a CSV file, and its column names (None without a header).

    The rules, the same with or without pandas (which reads large files much
    faster when it is installed):

    * the delimiter is sniffed among ``,`` ``;`` tab and space;
      values may be quoted;
    * the first line is a header when any of its fields is not a number;
    * a first column with an empty name (as pandas' ``to_csv()`` writes
      its index) is an index, and is dropped;
    * every line has as many fields as the first; an empty cell, a short or
      long line, or a value that is not a number is an error naming its line.
    """
    import csv

    with open(path, newline="") as f:
        first_line = f.readline()  # whole, however wide the file
        while first_line and not first_line.strip():
            first_line = f.readline()
        head = first_line + f.read(64 * 1024)
    if not first_line.strip():
        raise CLIError(f"{path}: the file is empty")
    try:
        dialect = csv.Sniffer().sniff(head, delimiters=",;\t ")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","  # one column, or nothing to tell
    first = next(csv.reader([first_line.strip("\r\n")], delimiter=delimiter,
                            skipinitialspace=True))  # fmt: skip
    header = not all(_is_number(v) for v in first)
    names = [v.strip() for v in first] if header else None
    index = header and names[0] in ("", "Unnamed: 0")
    n_fields = len(first)
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        X = _read_csv_pandas(pd, path, delimiter, header, n_fields)
    else:
        X = _read_csv_plain(path, delimiter, header, n_fields)
    if index:
        X, names = X[:, 1:], names[1:]
        if X.shape[1] == 0:
            raise CLIError(f"{path}: no column besides the index")
    return np.ascontiguousarray(X), names


def _csv_error(path, line_number, fields, n_fields, delimiter):
    if len(fields) != n_fields:
        return CLIError(
            f"{path}: line {line_number} has {len(fields)} fields, expected {n_fields} "
            f"(delimiter {delimiter!r})"
        )
    for column, value in enumerate(fields, 1):
        if not value.strip():
            return CLIError(f"{path}: line {line_number}, column {column} is empty")
        if not _is_number(value):
            return CLIError(
                f"{path}: line {line_number}, column {column}: {value.strip()!r} is not a number"
            )
    return None


def _read_csv_plain(path, delimiter, header, n_fields):
    import csv

    rows = []
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, skipinitialspace=True)
        skip_header = header
        for line_number, fields in enumerate(reader, 1):
            if not fields:  # a blank line
                continue
            if skip_header:
                skip_header = False
                continue
            error = _csv_error(path, line_number, fields, n_fields, delimiter)
            if error is not None:
                raise error
            rows.append([float(v) for v in fields])
    if not rows:
        raise CLIError(f"{path}: no data rows")
    return np.array(rows, dtype=np.float64)


def _read_csv_pandas(pd, path, delimiter, header, n_fields):
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=0 if header else None,
            skipinitialspace=True,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            engine="python" if delimiter == " " else "c",
        )
    except pd.errors.ParserError:
        return _read_csv_plain(path, delimiter, header, n_fields)  # names the line
    except pd.errors.EmptyDataError:
        raise CLIError(f"{path}: no data rows") from None
    if frame.shape[0] == 0:
        raise CLIError(f"{path}: no data rows")
    values = frame.to_numpy()
    try:
        return values.astype(np.float64)
    except ValueError:
        # an empty cell, a short line or a word: the plain reader names it
        return _read_csv_plain(path, delimiter, header, n_fields)


def load_weights(path, n_samples):
    if path is None:
        return None
    w = np.asarray(
        load_data(path) if not path.endswith(".npy") else np.load(path, allow_pickle=False)
    )
    if w.ndim == 2 and 1 in w.shape:
        w = w.reshape(-1)
    if w.ndim != 1:
        raise CLIError(f"{path}: expected one weight per row, got shape {w.shape}")
    if w.shape[0] != n_samples:
        raise CLIError(f"{path}: {w.shape[0]} weights for {n_samples} samples")
    return np.asarray(w, dtype=np.float64)


# ------------------------------------------------------------------ output

_OUTPUT_FORMATS = (".npy", ".csv", ".txt")


def output_path(path, formats=_OUTPUT_FORMATS, default=".npy"):
    """The path an output is written to, checked before any work is done:
    by its extension (none: ``default`` is appended), in a folder that exists
    and can be written."""
    ext = os.path.splitext(path)[1].lower()
    if ext == "":
        path, ext = path + default, default
    elif ext not in formats:
        raise CLIError(f"{path}: unknown output format {ext!r} (use {', '.join(formats)})")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{path}: no such folder {folder}")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise CLIError(f"{path}: cannot write there (permission denied)")
    return path


def write_array(path, array, header=None):
    """Write ``array`` to ``path`` in the format its extension names."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        with open(path, "wb") as f:  # np.save(name) would append .npy
            np.save(f, array)
    else:
        fmt = "%d" if np.issubdtype(array.dtype, np.integer) else "%.17g"
        np.savetxt(
            path, np.atleast_1d(array), delimiter=",", fmt=fmt, header=header or "", comments=""
        )


def parse_range(text):
    """'1:20' -> 1..20, '3' -> [3], '2,4,8' -> [2, 4, 8]."""
    try:
        if ":" in text:
            lo, hi = text.split(":")
            values = list(range(int(lo), int(hi) + 1))
        else:
            values = [int(v) for v in text.split(",")]
    except ValueError:
        raise CLIError(f"-k: expected N, N:M or N,M,..., got {text!r}") from None
    if not values or min(values) < 1:
        raise CLIError(f"-k: component counts must be >= 1, got {text!r}")
    return values


# ------------------------------------------------------------------ progress


def _fit(X, sample_weight=None, *, progress=False, bayesian=False, **params):
    """A fitted fastgmm.GaussianMixture (BayesianGaussianMixture with
    ``bayesian``), and whether it warned that it did not converge; with
    ``progress``, a progress line per EM iteration."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from ._bayesian import BayesianGaussianMixture
    from ._estimator import GaussianMixture
    from ._progress import ProgressReporter, reporting

    def reporter(model):
        return ProgressReporter(n_init=model.n_init, init_params=model.init_params)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = (BayesianGaussianMixture if bayesian else GaussianMixture)(**params)
        if progress:
            with reporting(reporter):
                model.fit(X, sample_weight=sample_weight)
        else:
            model.fit(X, sample_weight=sample_weight)
    return model, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _compile_note(model):
    seconds = getattr(model, "compile_time_", 0.0)
    return f"compile {seconds:.2f} s, " if seconds > 0 else ""


#: the weight above which the summary of a Bayesian fit counts a component
ACTIVE_WEIGHT = 0.01


def _is_bayesian(model):
    return hasattr(model, "weight_concentration_prior_type")


def _criteria(model, X, w):
    """(BIC, AIC, mean log-likelihood) of a fitted model on X (weighted);
    BIC and AIC are None for a Bayesian mixture (it has no such count of
    parameters: its criterion is the lower bound)."""
    from ._mstep import information_criteria

    ll = _quiet(model.score, X, sample_weight=w)
    if _is_bayesian(model):
        return None, None, ll
    n = X.shape[0] if w is None else float(np.sum(w))
    bic, aic = information_criteria(ll * n, n, model._n_parameters())
    return bic, aic, ll


# ------------------------------------------------------------------ commands


def cmd_fit(args):

    output = output_path(args.output, (".npz",), ".npz") if args.output else None
    X, names = load_table(args.data, args.key)
    w = load_weights(args.weights, X.shape[0])
    if args.bayesian:
        extra = dict(
            bayesian=True,
            on_degenerate=args.on_degenerate,
            weight_concentration_prior_type=args.weight_prior or "dirichlet_process",
            weight_concentration_prior=args.weight_concentration,
        )
    elif args.weight_prior is not None or args.weight_concentration is not None:
        raise CLIError("--weight-prior and --weight-concentration need --bayesian")
    else:
        extra = dict(on_degenerate=args.on_degenerate)

    print(
        f"fitting {'at most ' if args.bayesian else ''}{args.n_components} "
        f"{args.covariance_type} components{' (variational)' if args.bayesian else ''} to "
        f"{X.shape[0]:,} x {X.shape[1]} {X.dtype.name} ({args.data})"
    )
    tic = time.perf_counter()
    model, _ = _fit(  # the summary says whether it converged
        X, w, progress=True,
        n_components=args.n_components, covariance_type=args.covariance_type,
        max_iter=args.max_iter, tol=args.tol, reg_covar=args.reg_covar,
        init_params=args.init, n_init=args.n_init, random_state=args.seed,
        n_threads=args.threads, **extra,
    )  # fmt: skip
    elapsed = time.perf_counter() - tic
    if names is not None:  # a CSV header: saved with the model, checked on use
        model.feature_names_in_ = np.asarray(names, dtype=object)
    bic, _, ll = _criteria(model, X, w)
    if args.bayesian:
        active = int(np.sum(model.weights_ > ACTIVE_WEIGHT))
        result = (
            f"{active} of {args.n_components} components carry weight "
            f"(weights_ > {ACTIVE_WEIGHT}); lower bound {model.lower_bound_:.2f}, "
            f"mean log-likelihood {ll:.6f}"
        )
    else:
        result = f"lower bound {model.lower_bound_:.6f} per sample, BIC {bic:.2f}"
    events = getattr(model, "degenerate_events_", [])
    if events:
        result += (
            f"\n{len(events)} degenerate-component event(s) ({args.on_degenerate}); "
            f"{getattr(model, 'n_components_', args.n_components)} of {args.n_components} "
            "components remain"
        )
    print(
        f"\n{'converged' if model.converged_ else 'did NOT converge'} after "
        f"{model.n_iter_} iterations (best of {args.n_init} init), {elapsed:.2f} s "
        f"({_compile_note(model)}init {model.init_time_:.2f} s, "
        f"{np.median(model.iter_times_) if model.iter_times_ else 0.0:.3f} s/iter)\n{result}"
    )
    if output:
        model.save(output)
        print(f"model saved to {output}")
    return 0


def _quiet(method, X, **kwargs):
    """``method(X)`` on a plain array for a model fitted with column names
    (the command line has checked the names itself)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return method(np.asarray(X) if not isinstance(X, np.memmap) else X, **kwargs)


def _load_model_and_data(args):
    model = _load_model(args.model)
    X, names = load_table(args.data, args.key)
    fitted = getattr(model, "feature_names_in_", None)
    if names is not None and fitted is not None and list(names) != list(fitted):
        raise CLIError(f"{args.data}: columns {list(names)} differ from the model's {list(fitted)}")
    return model, X


def _load_model(path):
    from ._estimator import load

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    return load(path)


def cmd_predict(args):
    output = output_path(args.output)
    model, X = _load_model_and_data(args)
    out = _quiet(model.predict_proba if args.proba else model.predict, X)
    header = None
    if os.path.splitext(output)[1].lower() != ".npy":
        header = ",".join(f"p{k}" for k in range(out.shape[1])) if args.proba else "label"
    write_array(output, out, header=header)
    what = "responsibilities" if args.proba else "labels"
    print(f"{what} of {X.shape[0]:,} samples, shape {out.shape}, saved to {output}")
    return 0


def cmd_score(args):
    model, X = _load_model_and_data(args)
    w = load_weights(args.weights, X.shape[0])
    bic, aic, ll = _criteria(model, X, w)
    print(f"mean log-likelihood {ll:.6f} over {X.shape[0]:,} samples")
    if bic is not None:
        print(f"BIC {bic:.2f}  AIC {aic:.2f}")
    return 0


def cmd_select(args):
    X = load_data(args.data, args.key)
    w = load_weights(args.weights, X.shape[0])
    ks = parse_range(args.k)
    types = (
        COVARIANCE_TYPES
        if args.covariance_type == "all"
        else [t.strip() for t in args.covariance_type.split(",")]
    )
    for t in types:
        if t not in COVARIANCE_TYPES:
            raise CLIError(f"--covariance-type: unknown {t!r} (use {COVARIANCE_TYPES} or all)")
    if args.plot:
        from .plotting import require_pyplot

        args.plot = output_path(args.plot, (".png",), ".png")
        try:
            require_pyplot()
        except ImportError as exc:
            raise CLIError(f"--plot: {exc}") from None
    if max(ks) > X.shape[0]:
        raise CLIError(f"-k: {max(ks)} components for {X.shape[0]} samples")

    from ._selection import select_mixture

    print(
        f"{'type':<10} {'k':>4} {'BIC':>16} {'AIC':>16} {'log-lik/sample':>15} "
        f"{'iters':>6} {'time s':>7}"
    )

    def show(row):
        print(
            f"{row['covariance_type']:<10} {row['n_components']:>4} {row['bic']:>16.2f} "
            f"{row['aic']:>16.2f} {row['log_likelihood']:>15.6f} "
            f"{row['n_iter']:>5}{' ' if row['converged'] else '*'} {row['seconds']:>7.2f}",
            flush=True,
        )

    selection = select_mixture(
        X, ks, types,
        criterion=args.criterion, sample_weight=w, callback=show,
        max_iter=args.max_iter, tol=args.tol, random_state=args.seed, n_init=args.n_init,
        n_threads=args.threads,
    )  # fmt: skip
    rows = selection.table
    best = selection.best_row
    print(
        f"best by {args.criterion.upper()}: {best['n_components']} components, "
        f"covariance_type={best['covariance_type']!r}"
    )
    if not all(r["converged"] for r in rows):
        print("(* did not converge within --max-iter)")
    if args.plot:
        from .plotting import plot_selection

        plot_selection(rows, args.plot, title=f"Model selection on {os.path.basename(args.data)}")
        print(f"plot saved to {args.plot}")
    return 0


def cmd_plot(args):
    from .plotting import plot_ellipses

    output = output_path(args.output, (".png",), ".png")
    model, X = _load_model_and_data(args)
    try:
        features = tuple(int(v) for v in args.features.split(","))
    except ValueError:
        raise CLIError(
            f"--features: expected two column numbers like 0,1, got {args.features!r}"
        ) from None
    if len(features) != 2:
        raise CLIError(f"--features: expected two column numbers, got {args.features!r}")
    try:
        _quiet(
            lambda rows: plot_ellipses(
                model, rows, output, features=features, max_points=args.max_points
            ),
            X,
        )
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    print(f"plot saved to {output}")
    return 0


def cmd_demo(args):
    from . import _threads
    from .datasets import make_gaussian_mixture

    dtype = np.float32 if args.float32 else np.float64
    print(
        f"fastgmm demo: {args.n_samples:,} x {args.n_features} {np.dtype(dtype).name} "
        f"points from {args.n_components} Gaussians, covariance_type="
        f"{args.covariance_type!r}, threads={args.threads or _threads.max_threads()}"
    )
    tic = time.perf_counter()
    X, labels, _ = make_gaussian_mixture(
        args.n_samples,
        args.n_features,
        args.n_components,
        dtype=dtype,
        random_state=args.seed,
    )
    print(f"data generated in {time.perf_counter() - tic:.2f} s ({X.nbytes / 2**20:.0f} MiB)")
    tic = time.perf_counter()
    model, _ = _fit(
        X, progress=True,
        n_components=args.n_components, covariance_type=args.covariance_type,
        max_iter=args.max_iter, tol=args.tol, random_state=args.seed,
        n_threads=args.threads,
    )  # fmt: skip
    total = time.perf_counter() - tic
    agree = _label_agreement(model.predict(X), labels, args.n_components)
    print()
    print(f"converged:               {model.converged_} after {model.n_iter_} iterations")
    print(f"final log-likelihood:    {model.lower_bound_:.6f} per point")
    print(f"time per EM iteration:   {np.median(model.iter_times_):.3f} s (median)")
    if model.compile_time_ > 0:
        print(f"kernels compiled/loaded: {model.compile_time_:.2f} s (first use in a process)")
    print(f"initialisation:          {model.init_time_:.2f} s")
    print(f"whole fit:               {total:.2f} s")
    print(f"labels matching truth:   {agree:.1%} (best one-to-one matching)")
    return 0


def _label_agreement(pred, truth, n_components):
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((n_components, n_components), dtype=np.int64)
    np.add.at(counts, (pred, truth), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(truth)


def cmd_make_data(args):
    from .datasets import make_gaussian_mixture

    output = output_path(args.output)
    labels_output = output_path(args.labels) if args.labels else None
    X, labels, _ = make_gaussian_mixture(
        args.n_samples,
        args.n_features,
        args.n_components,
        separation=args.separation,
        dtype=np.float32 if args.float32 else np.float64,
        random_state=args.seed,
    )
    header = ",".join(f"x{j}" for j in range(X.shape[1]))
    write_array(output, X, header=header)
    print(
        f"{X.shape[0]:,} x {X.shape[1]} {X.dtype.name} rows from {args.n_components} "
        f"Gaussians saved to {output}"
    )
    if labels_output:
        write_array(labels_output, labels, header="label")
        print(f"true labels saved to {labels_output}")
    return 0


def cmd_warmup(args):
    from ._warmup import warmup

    types = COVARIANCE_TYPES if args.covariance_type == "all" else [
        t.strip() for t in args.covariance_type.split(",")
    ]  # fmt: skip
    for t in types:
        if t not in COVARIANCE_TYPES:
            raise CLIError(f"--covariance-type: unknown {t!r} (use {COVARIANCE_TYPES} or all)")
    dtypes = [d.strip() for d in args.dtype.split(",")]
    for d in dtypes:
        if d not in ("float64", "float32"):
            raise CLIError(f"--dtype: unknown {d!r} (use float64, float32 or both)")
    tic = time.perf_counter()
    warmup(types, dtypes, kmeans=args.kmeans)
    print(f"kernels ready in {time.perf_counter() - tic:.2f} s")
    return 0


def cmd_info(args):
    import platform

    import numba
    import scipy
    import sklearn

    from . import __version__, _config, _threads

    cache_dir = numba.config.CACHE_DIR or os.path.join(os.path.dirname(__file__), "__pycache__")
    print(f"fastgmm        {__version__}")
    print(f"python         {platform.python_version()} ({sys.executable})")
    print(f"numpy          {np.__version__}")
    print(f"numba          {numba.__version__}")
    print(f"scipy          {scipy.__version__}")
    print(f"scikit-learn   {sklearn.__version__}")
    print(f"cpus           {os.cpu_count()}")
    print(f"threads        {_threads.current()} of {_threads.max_threads()} (NUMBA_NUM_THREADS)")
    print(
        f"kernel cache   {'on' if _config.NUMBA_CACHE else 'off (FASTGMM_NUMBA_CACHE=0)'}: "
        f"{cache_dir}"
    )
    return 0


# ------------------------------------------------------------------ parser


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The description as written, and every option's default in its help
    (a help text that names its default itself, or a flag, is left alone)."""

    def _get_help_string(self, action):
        text = action.help or ""
        no_default = action.default is None or action.default is False
        if "default" in text or no_default or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def _add_data(p):
    p.add_argument("data", help="data file: .npy (memory-mapped), .npz or .csv")
    p.add_argument(
        "--key", default=None, help="array name inside a .npz (default: its first array)"
    )


def _add_weights(p):
    p.add_argument(
        "--weights", default=None, help="sample weights (.npy or .csv), one per row (default: none)"
    )


def _add_covariance_type(p, help="covariance_type"):
    p.add_argument("--covariance-type", default="full", choices=COVARIANCE_TYPES, help=help)


def _add_fit_options(p, *, weights=True, n_init=True):
    """The options every command that fits shares (with their defaults)."""
    p.add_argument(
        "--max-iter", type=int, default=100, help="EM iterations at most per initialisation"
    )
    p.add_argument(
        "--tol", type=float, default=1e-3, help="stop when the mean log-likelihood changes by less"
    )
    p.add_argument("--seed", type=int, default=0, help="random_state")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="kernel threads (default: all cores Numba may use)",
    )
    if n_init:
        p.add_argument(
            "--n-init", type=int, default=1, help="initialisations; the best fit is kept"
        )
    if weights:
        _add_weights(p)


def build_parser():
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="fastgmm",
        description=__doc__.split("\n\n")[1],
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fastgmm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help):
        return sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)

    p = command("fit", "fit a model to a data file")
    _add_data(p)
    p.add_argument(
        "-k",
        "--n-components",
        dest="n_components",
        type=int,
        required=True,
        help="number of components",
    )
    _add_fit_options(p)
    _add_covariance_type(p)
    p.add_argument(
        "--reg-covar", type=float, default=1e-6, help="added to the diagonal of every covariance"
    )
    p.add_argument(
        "--init",
        default="kmeans",
        choices=["kmeans", "k-means++", "random", "random_from_data"],
        help="init_params",
    )
    p.add_argument(
        "--on-degenerate",
        default="raise",
        choices=["raise", "reseed", "drop"],
        help="a component that empties or collapses: raise scikit-learn's error, move it "
        "to the worst-explained rows, or remove it (on_degenerate)",
    )
    p.add_argument(
        "--bayesian",
        action="store_true",
        help="fit a BayesianGaussianMixture: -k is then an upper bound",
    )
    p.add_argument(
        "--weight-prior",
        default=None,
        choices=["dirichlet_process", "dirichlet_distribution"],
        help="with --bayesian: weight_concentration_prior_type (default dirichlet_process)",
    )
    p.add_argument(
        "--weight-concentration",
        type=float,
        default=None,
        help="with --bayesian: weight_concentration_prior (default 1 / k)",
    )
    p.add_argument(
        "-o", "--output", default=None, help="where to save the model (.npz; default: not saved)"
    )
    p.set_defaults(func=cmd_fit)

    p = command("predict", "labels (or responsibilities) of a data file")
    p.add_argument("model", help="a model saved by fit (.npz)")
    _add_data(p)
    p.add_argument(
        "-o", "--output", required=True, help="output file: .npy or .csv (no extension: .npy)"
    )
    p.add_argument("--proba", action="store_true", help="responsibilities, not labels")
    p.set_defaults(func=cmd_predict)

    p = command("score", "mean log-likelihood (and BIC, AIC) of a data file")
    p.add_argument("model", help="a model saved by fit (.npz)")
    _add_data(p)
    _add_weights(p)
    p.set_defaults(func=cmd_score)

    p = command("select", "fit a range of models; BIC/AIC table and plot")
    _add_data(p)
    p.add_argument(
        "-k", "--n-components", dest="k", required=True, help="component counts: N:M, N or N,M,..."
    )
    _add_fit_options(p)
    p.add_argument(
        "--covariance-type",
        default="full",
        help="full, tied, diag, spherical, a comma list, or all",
    )
    p.add_argument(
        "--criterion", default="bic", choices=["bic", "aic"], help="what picks the best model"
    )
    p.add_argument(
        "--plot", default=None, help="write the BIC/AIC curves to this PNG (default: no plot)"
    )
    p.set_defaults(func=cmd_select)

    p = command("plot", "data and covariance ellipses of a model, to PNG")
    p.add_argument("model", help="a model saved by fit (.npz)")
    _add_data(p)
    p.add_argument("-o", "--output", required=True, help="output .png")
    p.add_argument("--features", default="0,1", help="the two columns to draw")
    p.add_argument(
        "--max-points",
        type=int,
        default=20_000,
        help="points drawn at most (a random subsample beyond)",
    )
    p.set_defaults(func=cmd_plot)

    p = command("demo", "fit a built-in synthetic data set, with progress")
    p.add_argument("--n-samples", type=int, default=1_000_000, help="rows")
    p.add_argument("--n-features", type=int, default=8, help="columns")
    p.add_argument(
        "-k", "--n-components", type=int, default=8, help="components drawn from, and fitted"
    )
    _add_covariance_type(p, help="covariance_type of the fit")
    _add_fit_options(p, weights=False, n_init=False)  # --seed seeds the data too
    p.add_argument("--float32", action="store_true", help="fit float32 data")
    p.set_defaults(func=cmd_demo)

    p = command("make-data", "write a synthetic Gaussian-mixture data set")
    p.add_argument("output", help="output file: .npy or .csv (no extension: .npy)")
    p.add_argument("--n-samples", type=int, default=100_000, help="rows")
    p.add_argument("--n-features", type=int, default=2, help="columns")
    p.add_argument("-k", "--n-components", type=int, default=5, help="components")
    p.add_argument(
        "--separation", type=float, default=8.0, help="scale of the distances between the means"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--float32", action="store_true", help="write float32 rows")
    p.add_argument(
        "--labels",
        default=None,
        help="also save the true labels to this .npy or .csv (default: no)",
    )
    p.set_defaults(func=cmd_make_data)

    p = command("warmup", "compile and cache the kernels ahead of use (images, CI, workers)")
    p.add_argument(
        "--covariance-type", default="all", help="full, tied, diag, spherical, a comma list, or all"
    )
    p.add_argument("--dtype", default="float64,float32", help="float64, float32 or both")
    p.add_argument(
        "--no-kmeans",
        dest="kmeans",
        action="store_false",
        help="skip the k-means kernels (they start fits of more than 2**17 rows)",
    )
    p.set_defaults(func=cmd_warmup)

    p = command("info", "versions, threads, kernel cache")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._progress import CompileReporter, reporting

    try:
        # every command says when it compiles kernels (first use only)
        with reporting(lambda model: CompileReporter()):
            return args.func(args)
    except CLIError as exc:
        print(f"fastgmm: error: {exc}", file=sys.stderr)
    except (ValueError, TypeError, ImportError, OSError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"fastgmm: error: {message}", file=sys.stderr)
    except KeyboardInterrupt:
        print("fastgmm: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
