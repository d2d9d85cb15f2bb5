"""The distribution: what an sdist carries and what its metadata says."""

import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip("building needs setuptools >= 77 (the test extra installs it)")
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("not a source tree")
    tmp = tmp_path_factory.mktemp("sdist")
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", "*.egg-info", "__pycache__", ".asv", "build", "dist", ".pytest_cache"
        ),
    )
    out = tmp / "dist"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
            str(out),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    name = proc.stdout.strip().splitlines()[-1]
    with tarfile.open(out / name) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
        pkg_info = tar.extractfile(f"{name[: -len('.tar.gz')]}/PKG-INFO").read().decode()
    return members, pkg_info


def test_sdist_carries_tests_docs_and_license(sdist):
    members, _ = sdist
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    wanted = {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "fastgmm/_kernels/full.py",
        "tests/reference.py",
        "tests/conftest.py",
        "tests/_boundscheck_cases.py",
        "docs/select.png",
        "docs/ellipses.png",
        "benchmarks/compare.py",
    }
    if tracked.returncode == 0:  # every tracked test, doc and benchmark file
        wanted |= {
            f
            for f in tracked.stdout.split()
            if f.startswith(("tests/", "docs/", "benchmarks/", "fastgmm/"))
            and not f.endswith(".txt")
        }
    assert wanted <= members, sorted(wanted - members)


def test_sdist_metadata(sdist):
    _, pkg_info = sdist
    assert "License-Expression: BSD-3-Clause" in pkg_info
    assert "License-File: LICENSE" in pkg_info
    assert "Requires-Dist: threadpoolctl" in pkg_info
    assert "Classifier: Programming Language :: Python :: 3" in pkg_info
    assert "Project-URL: " in pkg_info
    from fastgmm import __version__

    assert f"Version: {__version__}" in pkg_info
