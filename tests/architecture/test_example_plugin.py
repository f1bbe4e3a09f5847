"""The example plugin distribution, installed from its own folder, runs beside the built-ins with no edit to crystalbench.

``make test`` installs ``examples/crystalbench-examples`` (its pyproject.toml declares the
entry points); these tests fail, naming that command, where it is not installed.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

from crystalbench.harness.history import read_results
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep

TINY_STACK = {"max_sites": 20, "part_epochs": 2, "combined_epochs": 3, "quality_samples": 40, "batch_size": 32}


@pytest.fixture(scope="module", autouse=True)
def installed():
    try:
        distribution("crystalbench-examples")
    except PackageNotFoundError:
        pytest.fail("the example plugin is not installed: make test (pip install -e examples/crystalbench-examples)")


def test_crystalbench_list_shows_the_example_method_and_task_with_where_they_run():
    listed = subprocess.run([str(Path(sys.executable).with_name("crystalbench")), "list"], capture_output=True,
                            text=True, check=True).stdout
    lines = {line.split()[0]: line for line in listed.splitlines() if line.startswith("  ")}
    assert "offers labelled_training_set, open_composition" in lines["band_gap"]
    assert "tasks: band_gap, electronegativity, formation_energy" in lines["mutation_search"]
    for built_in in ("lcom", "sl", "crystal_lsbo", "ftcp_random", "database", "random_search"):
        assert "band_gap" in lines[built_in], built_in
    assert "band_gap" not in lines["cdvae"]


def test_a_sweep_runs_the_example_beside_the_built_ins(local_ray, artifact_root, small_dataset_csv, tmp_path):
    spec = parse_spec({
        "suite": "example", "seeds": 1, "dataset": str(small_dataset_csv),
        "methods": ["database", {"name": "mutation_search", "params": {"parents": 4}},
                    {"name": "crystal_lsbo", "params": {"stack": TINY_STACK}}, "cdvae"],
        "tasks": [{"name": "band_gap", "budget": 4, "batch_size": 2, "params": {"n_estimators": 30}},
                  {"name": "formation_energy", "budget": 4, "batch_size": 2}],
        "storage": {"run_dir": str(tmp_path / "run")},
    })
    outcome = run_sweep(spec, progress=False)
    assert outcome.failed == []
    assert sorted(outcome.complete) == sorted(f"{task}.{task}.{method}.s0" for task in ("band_gap", "formation_energy")
                                              for method in ("database", "mutation_search", "crystal_lsbo"))
    assert sorted((s.method_label, s.task) for s in outcome.skipped) == [("cdvae", "band_gap"),
                                                                          ("cdvae", "formation_energy")]
    assert all(r.n_calls == 4 for r in read_results(outcome.run_dir))
    assert "mutation_search" in (Path(outcome.report_dir) / "leaderboard.md").read_text()
