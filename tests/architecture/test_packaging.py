"""What ``pip install crystalbench`` puts on the path: one import name, the entry points, the shipped data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of the working tree's files (tracked or not ignored), built from a copy.

    A copy, because setuptools leaves a ``build/`` folder in the tree it builds, and a
    module deleted since would otherwise travel on in the next wheel.
    """
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source),
                    "-w", str(out)], check=True, capture_output=True)
    return next(out.glob("crystalbench-*.whl"))


def test_the_wheel_adds_one_top_level_import_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"crystalbench"}
    assert {"crystalbench/api/__init__.py", "crystalbench/harness/sweep.py", "crystalbench/methods/lcom/lcom.py",
            "crystalbench/tasks/csp/task.py"} <= set(names)


def test_the_wheel_ships_every_data_file_of_the_tree(wheel):
    tracked = subprocess.run(["git", "ls-files", "harness/data", "tasks/csp/data", "crystalbench/physics/models"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert any(path.startswith("crystalbench/physics/models/") for path in tracked)
    shipped = {path if path.startswith("crystalbench/") else f"crystalbench/{path}" for path in tracked}
    assert shipped <= set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_declares_the_built_in_plugins_as_entry_points(wheel):
    archive = zipfile.ZipFile(wheel)
    text = archive.read(next(n for n in archive.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "[crystalbench.methods]" in text and "[crystalbench.tasks]" in text
    assert "csp26 = crystalbench.tasks.csp.task:Csp26" in text
    assert "crystal_lsbo = crystalbench.methods.crystal_lsbo.lsbo:CrystalLSBO" in text


def test_installed_alone_it_imports_as_crystalbench_and_not_as_harness_methods_or_tasks(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = (f"import sys; sys.path.insert(0, {str(target)!r})\n"
             "import importlib.util, crystalbench.api\n"
             f"assert crystalbench.api.__file__.startswith({str(target)!r}), crystalbench.api.__file__\n"
             "print([n for n in ('harness', 'methods', 'tasks') if importlib.util.find_spec(n) is not None])\n")
    # -I: no working directory or user site on the path, so only installed packages are found.
    done = subprocess.run([sys.executable, "-I", "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
