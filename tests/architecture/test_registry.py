"""Plugins are found through entry points, imported on first lookup, and checked against their declared names."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystalbench.api import UserError, registry


def run_python(code: str, *paths: Path) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter with ``paths`` first on sys.path (where a test plants a distribution)."""
    prelude = "import sys\n" + "".join(f"sys.path.insert(0, {str(p)!r})\n" for p in paths)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True)


def plant_distribution(site: Path, module: str, source: str, entry_points: str) -> None:
    """An installed distribution as pip leaves it: the module and a dist-info with METADATA and entry_points.txt."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


PLUGIN = """
    from crystalbench.methods.database import Database

    class Greedy(Database):
        name = "greedy_demo"

    class Misnamed(Database):
        name = "something_else"
"""


def test_a_built_in_is_imported_only_when_first_looked_up():
    done = run_python("""
        import crystalbench.api as api
        assert "crystalbench.methods.lcom.lcom" not in sys.modules
        api.get_method("lcom")
        assert "crystalbench.methods.lcom.lcom" in sys.modules
        assert "crystalbench.methods.cdvae.cdvae" not in sys.modules
    """)
    assert done.returncode == 0, done.stderr


def test_an_installed_distributions_method_is_found_by_its_entry_point_name(tmp_path):
    plant_distribution(tmp_path, "demo_plugin", PLUGIN, "[crystalbench.methods]\ngreedy_demo = demo_plugin:Greedy\n")
    done = run_python("""
        import crystalbench.api as api
        print(api.get_method("greedy_demo").__module__, "greedy_demo" in api.method_names())
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["demo_plugin", "True"]


def test_an_entry_point_whose_class_has_another_name_is_refused(tmp_path):
    plant_distribution(tmp_path, "demo_plugin", PLUGIN, "[crystalbench.methods]\ngreedy_demo = demo_plugin:Misnamed\n")
    done = run_python("""
        import crystalbench.api as api
        api.get_method("greedy_demo")
    """, tmp_path)
    assert "entry point crystalbench.methods:greedy_demo (demo_plugin:Misnamed) is a method named 'something_else'" \
        in done.stderr


def test_an_unknown_name_is_one_line_listing_the_known_ones():
    with pytest.raises(UserError) as raised:
        registry.get_task("no_such_task")
    assert str(raised.value) == f"unknown task 'no_such_task'; known: {', '.join(registry.task_names())}"
    assert {"csp26", "electronegativity", "formation_energy"} <= set(registry.task_names())


def test_a_plugin_module_that_cannot_be_imported_is_one_line():
    with pytest.raises(UserError, match="cannot import plugin module 'no_such_plugin'"):
        registry.load(["no_such_plugin"])
