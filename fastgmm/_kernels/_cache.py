"""The guard that keeps Numba's disk cache of the kernels correct.

Numba checks a cached kernel against the time stamp and size of the file
that defines it, not of the files whose functions it calls and compiles in:
after an edit to ``_vector.py``, ``_tiles.py`` or ``_blocks.py`` (an editable
install, a patched release), a family's cached machine code would still load
and run the old helpers.  So the package keeps, beside its cache files, a hash
of all its sources; when the hash differs, its own cache files are removed
before any kernel is compiled or loaded.  Nothing here imports Numba.
"""

import hashlib
import os
import pathlib

STAMP_NAME = "fastgmm-kernels.stamp"


def sources_hash(package_dir):
    """sha256 of the package's Python sources, names and contents."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(package_dir).glob("*.py")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def cache_folders(dispatchers):
    """The folders Numba caches these dispatchers in (those with a disk cache)."""
    folders = set()
    for dispatcher in dispatchers:
        path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
        if path:
            folders.add(pathlib.Path(path))
    return sorted(folders)


def guard(package_dir, dispatchers):
    """Remove the package's cache files wherever they were compiled from
    other sources than today's, and record today's hash there.

    A folder that cannot be written is left as it is: Numba then cannot save
    there either (and uses a per-user folder, which this also covers).
    """
    stamp = sources_hash(package_dir)
    for folder in cache_folders(dispatchers):
        stamp_file = folder / STAMP_NAME
        try:
            if stamp_file.read_text() == stamp:
                continue
        except OSError:
            pass
        try:
            for cached in folder.glob("*.nb[ic]"):
                cached.unlink(missing_ok=True)
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{STAMP_NAME}.{os.getpid()}"
            tmp.write_text(stamp)
            os.replace(tmp, stamp_file)
        except OSError:
            pass
