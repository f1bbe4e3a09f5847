"""Nightly regression: unchanged reruns pass, injected regressions fail with the cells named."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crystalbench.harness import regress
from crystalbench.harness.runner import run_cell
from crystalbench.harness.spec import Cell

CLI = str(Path(sys.executable).with_name("crystalbench"))
SEEDS = range(5)


def run_dir_with(trial_context, root: Path, budgets: dict[str, int]) -> Path:
    """A run directory of in-process trials: database on each task with its budget, 5 seeds."""
    ctx = dataclasses.replace(trial_context, run_dir=str(root))
    for task, budget in budgets.items():
        for seed in SEEDS:
            run_cell(Cell(method="database", method_label="database", method_params={}, task=task, task_params={},
                          problem=task, seed=seed, budget=budget, batch_size=1), ctx)
    (root / "spec.yaml").write_text("suite: nightly_test\n")
    return root


@pytest.fixture(scope="module")
def runs(trial_context, tmp_path_factory):
    root = tmp_path_factory.mktemp("regress")
    full = {"electronegativity": 30, "formation_energy": 30}
    return {
        "baseline": run_dir_with(trial_context, root / "baseline", full),
        "rerun": run_dir_with(trial_context, root / "rerun", full),
        "cut": run_dir_with(trial_context, root / "cut", {**full, "electronegativity": 3}),
    }


def test_an_unchanged_rerun_passes(runs):
    verdicts = regress.compare(regress.summarise(runs["baseline"]), regress.summarise(runs["rerun"]))
    assert len(verdicts) == 2 and not any(v.regressed for v in verdicts)
    assert all(v.p_value == 1.0 for v in verdicts)


def test_a_budget_cut_to_a_tenth_is_a_regression_of_that_cell_only(runs):
    verdicts = regress.compare(regress.summarise(runs["baseline"]), regress.summarise(runs["cut"]))
    assert [v.cell for v in verdicts if v.regressed] == ["electronegativity/electronegativity/database"]
    assert verdicts[0].problems[0].startswith("worse results (p=")


def test_lost_validity_slowdown_and_missing_cells_are_flagged(runs):
    base = regress.summarise(runs["baseline"])
    new = json.loads(json.dumps(base))
    cell = "electronegativity/electronegativity/database"
    new["cells"][cell]["valid_rate"] = base["cells"][cell]["valid_rate"] - 0.2
    new["cells"][cell]["seconds_per_call"] = base["cells"][cell]["seconds_per_call"] * 3 + 0.01
    del new["cells"]["formation_energy/formation_energy/database"]
    verdicts = {v.cell: v for v in regress.compare(base, new)}
    assert "validity" in verdicts[cell].problems[0] and "slower per call" in verdicts[cell].problems[1]
    assert verdicts["formation_energy/formation_energy/database"].problems == ("missing",)


def test_direction_matters():
    base = {"cells": {"t/p/m": {"direction": "max", "final_best": [1, 2, 3, 4, 5], "valid_rate": 1.0,
                                "seconds_per_call": 0.01}}}
    higher = {"cells": {"t/p/m": {**base["cells"]["t/p/m"], "final_best": [6, 7, 8, 9, 10]}}}
    lower = {"cells": {"t/p/m": {**base["cells"]["t/p/m"], "final_best": [-5, -4, -3, -2, -1]}}}
    assert not regress.compare(base, higher)[0].regressed
    assert regress.compare(base, lower)[0].regressed


def test_cli_update_then_pass_then_fail(runs, tmp_path):
    baseline = tmp_path / "baseline.json"
    ok = subprocess.run([CLI, "regress", str(runs["baseline"]), "--baseline", str(baseline), "--update-baseline"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and baseline.is_file()
    same = subprocess.run([CLI, "regress", str(runs["rerun"]), "--baseline", str(baseline)],
                          capture_output=True, text=True)
    assert same.returncode == 0 and "0 of 2 cells regressed" in same.stdout
    worse = subprocess.run([CLI, "regress", str(runs["cut"]), "--baseline", str(baseline)],
                           capture_output=True, text=True)
    assert worse.returncode == 1
    assert "1 of 2 cells regressed: electronegativity/electronegativity/database" in worse.stdout


def test_missing_baseline_is_a_one_line_error(runs, tmp_path):
    proc = subprocess.run([CLI, "regress", str(runs["rerun"]), "--baseline", str(tmp_path / "none.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "baseline not found" in proc.stderr
