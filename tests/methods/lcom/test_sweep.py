"""lcom and sl through the real harness (Ray Tune, MLflow): a property-task sweep, and a csp26 cell on Si."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from mlflow import MlflowClient

from crystalbench.harness.history import read_histories, read_results
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep
from crystalbench.methods.lcom.path_energies import path_energies
from tests.methods.lcom.conftest import PARAMS, TINY_CDVAE, TINY_SURROGATE


def children(outcome) -> list:
    client = MlflowClient(outcome.tracking_uri)
    experiment = client.get_run(outcome.parent_run_id).info.experiment_id
    return client.search_runs([experiment], f"tags.mlflow.parentRunId = '{outcome.parent_run_id}'")


@pytest.fixture(scope="module")
def property_sweep(local_ray, artifact_root, small_dataset_csv, tmp_path_factory):
    spec = {
        "suite": "lcom_property",
        "seeds": 2,
        "dataset": str(small_dataset_csv),
        "methods": [{"name": m, "params": PARAMS[m]} for m in ("lcom", "sl")],
        "tasks": [{"name": "electronegativity", "budget": 3}],
        "storage": {"run_dir": str(tmp_path_factory.mktemp("lcom_sweep") / "run")},
    }
    return run_sweep(parse_spec(spec), progress=False)


@pytest.mark.slow
def test_a_property_sweep_completes_with_traces_in_results_and_mlflow(property_sweep):
    assert len(property_sweep.complete) == 4 and property_sweep.failed == []
    history = read_histories(property_sweep.run_dir)
    assert history.group_by("cell_id").len()["len"].to_list() == [3, 3, 3, 3]
    for result in read_results(property_sweep.run_dir):
        proposals = result.extra["trace"]["proposals"]
        rows = history.filter(pl.col("cell_id") == result.cell_id).sort("step")
        assert [p["oracle"] for p in proposals] == rows["score"].to_list()
        assert all(len(p["surrogate"]) == PARAMS[result.method]["steps"] + 1 for p in proposals)
    client = MlflowClient(property_sweep.tracking_uri)
    for run in children(property_sweep):
        assert "trace.json" in [a.path for a in client.list_artifacts(run.info.run_id)]
    parent = client.get_run(property_sweep.parent_run_id).data.metrics
    assert parent["prepare.lcom.final_alpha"] > 0 and parent["prepare.sl.heldout_mse"] > 0
    board = (property_sweep.report_dir / "leaderboard.md").read_text()
    assert "lcom" in board and "sl" in board


@pytest.fixture(scope="module")
def csp_sweep(local_ray, artifact_root, small_dataset_csv, tmp_path_factory):
    common = {"cdvae": TINY_CDVAE, "surrogate": TINY_SURROGATE | {"batch_size": 8}, "steps": 5, "path_every": 5}
    spec = {
        "suite": "lcom_csp",
        "seeds": 1,
        "dataset": str(small_dataset_csv),
        "methods": [{"name": "lcom", "params": common | {"adversarial_steps": 5}}, {"name": "sl", "params": common}],
        "tasks": [{"name": "csp26", "problems": ["Si"], "budget": 2, "batch_size": 1,
                   "params": {"relax_steps": 50}}],
        "storage": {"run_dir": str(tmp_path_factory.mktemp("lcom_csp") / "run")},
    }
    return run_sweep(parse_spec(spec), progress=False)


@pytest.mark.slow
def test_a_csp26_cell_descends_from_the_seeds_start_and_is_judged(csp_sweep):
    assert sorted(csp_sweep.complete) == ["csp26.Si.lcom.s0", "csp26.Si.sl.s0"] and csp_sweep.failed == []
    history = read_histories(csp_sweep.run_dir)
    for result in read_results(csp_sweep.run_dir):
        proposals = result.extra["trace"]["proposals"]
        assert [p["start"] for p in proposals] == [0, 0] and [p["restart"] for p in proposals] == [0, 1]
        assert all(p["start_formula"] == "Si" and len(p["surrogate"]) == 6 for p in proposals)
        assert proposals[0]["start_value"] == result.extra["problem_info"]["start_energy_per_atom"]
        rows = history.filter(pl.col("cell_id") == result.cell_id).sort("step")
        assert [p["oracle"] for p in proposals] == rows["score"].to_list()
        assert all(s is None or "Si" in s for s in rows["cif"].to_list())
        assert np.isfinite(result.extra["final"]["value"])
        assert result.extra["trace"]["latent"] == "cdvae"


@pytest.mark.slow
def test_the_traced_paths_are_scored_by_the_energy_model_afterwards(csp_sweep):
    table = path_energies(csp_sweep.run_dir)
    assert table.height == 2 * 2 * 2, "two methods, two proposals, steps 0 and 5 of each path"
    assert sorted(set(table["step"])) == [0, 5]
    traces = {r.method: r.extra["trace"]["proposals"] for r in read_results(csp_sweep.run_dir)}
    for row in table.iter_rows(named=True):
        assert row["surrogate"] == traces[row["method"]][row["proposal"]]["surrogate"][row["step"]]
    finite = table.filter(pl.col("oracle").is_not_nan())
    assert finite.height > 0 and finite["oracle"].is_between(-20.0, 20.0).all(), "CHGNet eV/atom"
