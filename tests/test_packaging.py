"""The Docker image installs the project as a wheel: every run-time data file must be in it."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_migrations_and_ui_files(tmp_path):
    # Build from a fresh copy: an in-tree build/ left by an earlier build would hide omissions.
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    for package in ("shared", "services"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("trueup-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    needed = [
        path.relative_to(REPO).as_posix()
        for pattern in ("services/*/static/**/*", "services/*/adapters/migrations/*.sql")
        for path in REPO.glob(pattern)
        if path.is_file()
    ]
    assert any(name.endswith(".sql") for name in needed) and any(name.endswith(".html") for name in needed)
    missing = [name for name in needed if name not in packaged]
    assert not missing, f"not in the wheel: {missing}"
