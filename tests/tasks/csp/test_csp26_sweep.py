"""csp26 through real Ray: a small sweep over three compounds, and the per-node energy service."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import ray
from mlflow import MlflowClient

from crystalbench.harness.history import read_histories, read_results
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep
from crystalbench.physics.energy_models import get_energy_model
from crystalbench.tasks.csp.compounds import polymorphs
from crystalbench.tasks.csp.energy_service import EnergyOracle, start_energy_services

COMPOUNDS = ["NaCl", "ZnO", "Si"]


@pytest.fixture(scope="module")
def csp_sweep(local_ray, artifact_root, small_dataset_csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("csp") / "run"
    spec = {
        "suite": "csp_small",
        "seeds": 1,
        "dataset": str(small_dataset_csv),
        "methods": ["random_search", "database"],
        "tasks": [{"name": "csp26", "problems": COMPOUNDS, "budget": 8, "batch_size": 4,
                   "params": {"relax_steps": 100}}],
        "storage": {"run_dir": str(run_dir)},
    }
    return run_sweep(parse_spec(spec), progress=False)


def test_every_cell_completes_with_its_final_structure_judged(csp_sweep):
    assert len(csp_sweep.complete) == 6 and csp_sweep.failed == []
    history = read_histories(csp_sweep.run_dir)
    random_rows = history.filter(history["method"] == "random_search").group_by("cell_id").len()["len"]
    assert random_rows.to_list() == [8, 8, 8]
    for result in read_results(csp_sweep.run_dir):
        final = result.extra["final"]
        assert final["structure"] and final["metrics"]["relax_steps"] >= 0 and np.isfinite(final["value"])
        assert isinstance(final["criteria"]["energy_success"], bool)
        assert isinstance(final["criteria"]["strict_success"], bool)
        # the final structure is the method's best valid proposal, relaxed: no higher than that proposal
        rows = history.filter((pl.col("cell_id") == result.cell_id) & pl.col("valid"))
        assert final["value"] <= rows["value"].min() + 1e-6


def test_the_report_has_the_check_mark_table_and_timings(csp_sweep):
    text = (Path(csp_sweep.report_dir) / "final.md").read_text()
    assert "## csp26: `energy_success`" in text and "## csp26: `strict_success`" in text
    rows = [line for line in text.splitlines() if line.startswith(("| NaCl", "| ZnO", "| Si"))]
    assert len(rows) == 3 * 5, "three compounds in four success tables (start and final, both criteria) and Fig. 3's"
    assert "relative improvement of the final `value` over the start" in text
    assert text.index("| NaCl") < text.index("| ZnO") < text.index("| Si"), "the paper's compound order"
    assert "/3 mean over 1 seeds" in text and "wall-clock per predicted structure" in text


def test_mlflow_children_carry_the_final_metrics_and_structure(csp_sweep):
    client = MlflowClient(csp_sweep.tracking_uri)
    experiment = client.get_run(csp_sweep.parent_run_id).info.experiment_id
    runs = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{csp_sweep.parent_run_id}'")
    assert len(runs) == 6
    for run in runs:
        assert "final.energy_success" in run.data.metrics and "final.relax_seconds" in run.data.metrics
        assert "final.value" in run.data.metrics
        assert "final/structure.cif" in [a.path for a in client.list_artifacts(run.info.run_id, "final")]


def test_one_service_per_node_batches_concurrent_trials(local_ray):
    services = start_energy_services("chgnet")
    assert len(services) == len([n for n in ray.nodes() if n["Alive"]])

    @ray.remote(num_cpus=0)
    def call(structures, at):
        time.sleep(max(0.0, at - time.time()))  # every caller fires at the same moment
        return EnergyOracle("chgnet")(structures).tolist()

    candidates = list(polymorphs("ZnO").values())
    before = ray.get(services[0].stats.remote())
    at = time.time() + 30  # after every worker process has started
    values = ray.get([call.remote(candidates, at) for _ in range(8)])
    expected = get_energy_model("chgnet").energy_per_atom(candidates)
    np.testing.assert_allclose(np.array(values), np.tile(expected, (8, 1)), atol=1e-5)
    after = ray.get(services[0].stats.remote())
    requests, batches = after["requests"] - before["requests"], after["batches"] - before["batches"]
    assert requests == 8 and batches < 8, json.dumps([before, after])


def test_a_sweep_asking_for_the_gpaw_judge_judges_every_final_structure(local_ray, artifact_root, small_dataset_csv,
                                                                          tmp_path):
    pytest.importorskip("gpaw", reason="GPAW is the optional `dft` extra (CI installs it)")
    spec = {
        "suite": "csp_judged",
        "seeds": 2,
        "dataset": str(small_dataset_csv),
        "methods": ["database"],
        "tasks": [{"name": "csp26", "problems": ["NaCl"], "budget": 2,
                   "params": {"relax_steps": 100, "judge": "gpaw"}}],
        "storage": {"run_dir": str(tmp_path / "run")},
    }
    outcome = run_sweep(parse_spec(spec), progress=False)
    assert len(outcome.complete) == 2 and outcome.unjudged == {}
    for result in read_results(outcome.run_dir):
        (verdict,) = result.extra["judged"]["gpaw"]
        assert isinstance(verdict["criteria"]["strict_success"], bool) and verdict["metrics"]["seconds"] > 0
        assert verdict["value"] < 0
    text = (Path(outcome.report_dir) / "final.md").read_text()
    assert "## csp26: `gpaw.strict_success`" in text and "## csp26: `strict_success`" in text
