"""Plots: covariance ellipses over the data, and model-selection curves.

Needs matplotlib (``pip install "fastgmm[plot]"``); everything else in fastgmm
works without it.  Figures are drawn with the Agg backend and saved to PNG.
"""

import numpy as np


def require_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install "fastgmm[plot]"') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def component_colors(n_components):
    """One distinct RGBA colour per component: the qualitative tab10 and
    tab20 palettes up to 20 components, evenly spaced hues beyond."""
    import matplotlib

    if n_components <= 10:
        return matplotlib.colormaps["tab10"](np.arange(n_components))
    if n_components <= 20:
        # tab20's dark shades first, then the light ones
        order = np.r_[np.arange(0, 20, 2), np.arange(1, 20, 2)][:n_components]
        return matplotlib.colormaps["tab20"](order)
    return matplotlib.colormaps["hsv"](np.arange(n_components) / n_components)


def covariance_2d(model, k, features):
    """The 2 x 2 covariance of component k over two chosen features."""
    i, j = features
    cov = model.covariances_
    if model.covariance_type == "full":
        c = cov[k]
    elif model.covariance_type == "tied":
        c = cov
    elif model.covariance_type == "diag":
        c = np.diag(cov[k])
    else:
        c = np.eye(model.means_.shape[1]) * cov[k]
    return np.asarray(c, dtype=np.float64)[np.ix_([i, j], [i, j])]


def plot_ellipses(
    model, X, path, *, features=(0, 1), max_points=20_000, random_state=0, title=None
):
    """Scatter of the data coloured by component, with 1 and 2 sigma ellipses.

    Parameters
    ----------
    model : fitted fastgmm.GaussianMixture
    X : array-like of shape (n_samples, n_features)
    path : str or path-like
        Where the PNG goes.
    features : pair of int, default=(0, 1)
        The two features on the axes.
    max_points : int, default=20000
        Points drawn at most (a uniform random subsample when X is larger).
    """
    plt = require_pyplot()
    from matplotlib.patches import Ellipse

    X = np.asarray(X)
    i, j = features
    n_features = X.shape[1]
    if not (0 <= i < n_features and 0 <= j < n_features and i != j):
        raise ValueError(
            f"features must be two different columns of 0..{n_features - 1}, got {features}"
        )
    rng = np.random.default_rng(random_state)
    if X.shape[0] > max_points:
        X = X[np.sort(rng.choice(X.shape[0], max_points, replace=False))]
    labels = model.predict(X)
    colors = component_colors(model.n_components)

    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(X[:, i], X[:, j], c=colors[labels], s=3, alpha=0.35, linewidths=0)
    for k in range(model.n_components):
        values, vectors = np.linalg.eigh(covariance_2d(model, k, (i, j)))
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        for n_sigma, style in ((1, "-"), (2, "--")):
            width, height = 2 * n_sigma * np.sqrt(np.maximum(values[::-1], 0))
            # a dark outline under the component's colour: visible on its own points
            for color, lw in (("black", 2.6), (colors[k], 1.5)):
                ax.add_patch(
                    Ellipse(
                        model.means_[k, [i, j]],
                        width,
                        height,
                        angle=angle,
                        fill=False,
                        edgecolor=color,
                        linestyle=style,
                        lw=lw,
                        zorder=3,
                    )
                )
        ax.plot(
            *model.means_[k, [i, j]], "X", color=colors[k], markeredgecolor="black", ms=9, zorder=4
        )
    ax.set_xlabel(f"feature {i}")
    ax.set_ylabel(f"feature {j}")
    ax.set_title(
        title
        or f"{model.n_components} components ({model.covariance_type}): "
        "1 sigma (solid) and 2 sigma (dashed)"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_selection(rows, path, *, title="Model selection"):
    """BIC and AIC against the number of components, one line per covariance type.

    rows : list of dict with keys covariance_type, n_components, bic, aic
    """
    plt = require_pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    for ax, criterion in zip(axes, ("bic", "aic")):
        for covariance_type in dict.fromkeys(r["covariance_type"] for r in rows):
            sub = [r for r in rows if r["covariance_type"] == covariance_type]
            ax.plot(
                [r["n_components"] for r in sub],
                [r[criterion] for r in sub],
                "o-",
                label=covariance_type,
            )
        best = min(rows, key=lambda r: r[criterion])
        ax.plot(
            best["n_components"],
            best[criterion],
            "*",
            color="black",
            ms=14,
            label=f"best: k={best['n_components']} {best['covariance_type']}",
        )
        ax.set_xlabel("n_components")
        ax.set_ylabel(criterion.upper() + " (lower is better)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
