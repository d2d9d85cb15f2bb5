"""Where the rows come from.

Every way of feeding data only computes sufficient statistics (and per-row
scores) through the kernels, and the EM driver never knows which:

    _array.py   an in-memory array (read in place), a memory map or a
                row-sliceable array-like (h5py, zarr), a chunk at a time
    _dask.py    the blocks of a Dask array, on a cluster or Dask's scheduler

:func:`as_source` picks one for ``X``.
"""

import numpy as np

from .._validation import check_sample_weight
from ._array import ArraySource, distinct_rows, wave_blocks
from ._dask import is_dask_array

__all__ = [
    "ArraySource",
    "as_source",
    "distinct_rows",
    "is_dask_array",
    "is_row_blocked",
    "wave_blocks",
    "with_known_shape",
]


def is_row_blocked(X):
    """Whether X is read a row block at a time instead of validated whole.

    np.memmap, and array-likes that are not NumPy arrays but slice in row
    blocks (h5py and zarr datasets, ...): 2-D, with a shape and a dtype.
    """
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or not hasattr(X, "__getitem__"):
        return False
    shape, dtype = getattr(X, "shape", None), getattr(X, "dtype", None)
    if shape is None or dtype is None or type(X).__module__.startswith(("pandas", "dask")):
        return False
    from scipy.sparse import issparse

    return not issparse(X) and len(shape) == 2


def with_known_shape(X):
    """X with a known shape: a Dask array after boolean indexing has unknown
    chunk sizes, computed here (one pass over the persisted blocks)."""
    if is_dask_array(X):
        from ._dask import with_known_chunks

        return with_known_chunks(X)
    return X


def as_source(X, sample_weight=None, *, chunk_rows=None, rescale_weights=True):
    """The source the kernels read for ``X``, with its weights checked.

    ``X`` is a validated in-memory array (C-contiguous float32/float64), a
    memory map or row-sliceable array-like whose shape and dtype have been
    checked (its values are checked chunk by chunk on the first pass), or a
    Dask array (its values are checked here, block by block).
    ``rescale_weights``: see :func:`check_sample_weight` (False where the
    fit depends on the weights' scale: the variational mixture's counts
    meet its priors).
    """
    if is_dask_array(X):
        from ._dask import DaskSource, check_dask_sample_weight

        sample_weight = check_dask_sample_weight(
            sample_weight, int(X.shape[0]), rescale=rescale_weights
        )
        source = DaskSource(X, sample_weight, chunk_rows=chunk_rows)
        source.check_finite()
        return source
    sample_weight = check_sample_weight(sample_weight, int(X.shape[0]), rescale=rescale_weights)
    in_memory = isinstance(X, np.ndarray) and not isinstance(X, np.memmap)
    return ArraySource(X, sample_weight, chunk_rows=chunk_rows, checked=in_memory)
