"""Initial responsibilities, drawn exactly as scikit-learn draws them.

scikit-learn materialises an ``n_samples x n_components`` responsibility
matrix here.  We draw the same random numbers (the same calls on the same
``RandomState``, so a given ``random_state`` gives sklearn's start) but hand
them to the source a chunk of rows at a time, which turns them into
sufficient statistics.
"""

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus


def _one_hot_labels(labels, n_components):
    def resp_for(start, stop):
        resp = np.zeros((stop - start, n_components))
        resp[np.arange(stop - start), labels[start:stop]] = 1.0
        return resp

    return resp_for


def _one_hot_indices(indices, n_components):
    """Row ``indices[k]`` has responsibility 1 for component k."""
    indices = np.asarray(indices)
    components = np.arange(n_components)

    def resp_for(start, stop):
        resp = np.zeros((stop - start, n_components))
        inside = (indices >= start) & (indices < stop)
        resp[indices[inside] - start, components[inside]] = 1.0
        return resp

    return resp_for


def _weighted_mean(X, sample_weight, chunk_rows=65536):
    """Column means in float64, a chunk at a time (no float64 copy of X)."""
    total = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        chunk = X[start : start + chunk_rows]
        if sample_weight is None:
            total += chunk.sum(axis=0, dtype=np.float64)
        else:
            total += sample_weight[start : start + chunk_rows] @ chunk.astype(np.float64)
    return total / (X.shape[0] if sample_weight is None else sample_weight.sum())


def initial_statistics(
    source, X, sample_weight, *, init_params, n_components, covariance_type,
    random_state,
):  # fmt: skip
    """Sufficient statistics of the initial responsibilities.

    ``sample_weight`` (None or float64) is passed to the k-means steps, so that
    zero-weight rows are never picked as centres; without it the draws are
    scikit-learn's.
    """
    n_samples = X.shape[0]
    if init_params == "kmeans":
        kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
        kmeans.fit(X, sample_weight=sample_weight)
        resp_for = _one_hot_labels(kmeans.labels_, n_components)
        shifts = kmeans.cluster_centers_
    elif init_params == "random":
        dtype = X.dtype

        def resp_for(start, stop):
            # Consecutive draws from the stream give the same numbers as
            # sklearn's single (n_samples, n_components) draw.
            resp = np.asarray(
                random_state.uniform(size=(stop - start, n_components)), dtype=dtype
            )
            resp /= resp.sum(axis=1)[:, np.newaxis]
            return resp

        shifts = np.tile(_weighted_mean(X, sample_weight), (n_components, 1))
    else:
        if init_params == "random_from_data":
            if sample_weight is None:
                indices = random_state.choice(n_samples, size=n_components, replace=False)
            else:
                if np.count_nonzero(sample_weight) < n_components:
                    raise ValueError(
                        "init_params='random_from_data' needs at least n_components "
                        f"samples with non-zero weight, got "
                        f"{np.count_nonzero(sample_weight)} for "
                        f"n_components = {n_components}."
                    )
                indices = random_state.choice(
                    n_samples, size=n_components, replace=False,
                    p=sample_weight / sample_weight.sum(),
                )  # fmt: skip
        else:  # "k-means++"
            _, indices = kmeans_plusplus(
                X, n_components, random_state=random_state, sample_weight=sample_weight
            )
        resp_for = _one_hot_indices(indices, n_components)
        shifts = X[indices]

    if covariance_type == "tied":
        # Tied statistics share one shift.  Responsibilities that add up to
        # one per row make it a free choice: the data mean, to keep digits.
        # Those of k-means++ and random_from_data cover only n_components
        # rows, and scikit-learn's tied covariance (raw moments of all rows
        # minus those of the means) then depends on the origin: shifting by
        # zero reproduces it.
        if init_params in ("kmeans", "random"):
            center = _weighted_mean(X, sample_weight)
        else:
            center = np.zeros(X.shape[1])
        shifts = np.tile(center, (n_components, 1))

    return source.accumulate_resp(resp_for, shifts, covariance_type)
