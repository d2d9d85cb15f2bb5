"""Tunables of fastgmm, in one place.

Everything here is read once, at import.  The grid constants decide how the
points are cut into blocks; they never depend on the thread count, which is
what makes a fit bitwise identical for any number of threads.
"""

import os

#: Cache compiled kernels on disk (``numba.njit(cache=True)``).  Set the
#: environment variable ``FASTGMM_NUMBA_CACHE=0`` to compile afresh in every
#: process (useful when measuring compile time, or on a read-only install).
NUMBA_CACHE = os.environ.get("FASTGMM_NUMBA_CACHE", "1").lower() not in (
    "0",
    "false",
    "no",
    "off",
)

#: Rows one thread processes into one set of partial statistics.
BLOCK_ROWS = 1024

#: Rows a kernel holds transposed (features x points), in scratch of the
#: input's dtype, at a time; a divisor of BLOCK_ROWS.  256 keeps a tile in L1
#: for d <= 16 (32 KB in float64) while amortising the set-up and the final
#: horizontal sums of the vectorised inner loops.  float32 input sums each
#: tile's moment products in float32 before adding them in float64.
TILE_ROWS = 256

#: Blocks whose partial statistics live at the same time (one "wave").  The
#: kernels run the blocks of a wave in parallel (one start of the threads a
#: wave: at 64 blocks, 153 starts a pass of 10M rows cost 5-15% of full
#: 10M x 4 x 4's pass); the partial statistics are then added in block
#: order.  The wave is made narrower when the statistics are large (see
#: ``PARTIALS_BUDGET_BYTES``) or a chunk's bytes of rows would not hold it
#: (``CHUNK_BYTES``), never because of the threads.
MAX_WAVE_BLOCKS = 1024

#: Rows read per chunk, by default about this many bytes of input (a whole
#: number of waves).  In-memory arrays are read in place (a chunk is a view);
#: memory maps and array-likes (h5py, zarr) hold one chunk in memory at a time.
CHUNK_BYTES = 32 * 2**20

#: Rows up to which every initialisation is exactly scikit-learn's; beyond,
#: the k-means steps run on a random sample of this many rows
#: (see fastgmm._initialization).
INIT_SAMPLE_ROWS = 2**17

#: Data with at most this many rows runs its kernels on the calling thread
#: alone (unless ``n_threads`` says otherwise): two blocks hold too little
#: work to pay for waking the kernel threads, and threads woken right after
#: scikit-learn's k-means (another OpenMP runtime, whose threads are still
#: spinning) waited about 4 ms for a core, several times a small fit.  The
#: result is the same bit for bit (the grid does not depend on the threads).
SERIAL_ROWS = 2048

#: Memory allowed for the partial statistics of one wave.
PARTIALS_BUDGET_BYTES = 8 * 2**20

#: Rows per chunk of dense initial responsibilities (``init_params='random'``
#: and the one-hot partitions): bounds that scratch to about this many bytes.
INIT_CHUNK_BYTES = 8 * 2**20
