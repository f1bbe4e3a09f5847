"""A real sweep through local Ray, tracked by a real ``mlflow server`` process on loopback."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from mlflow import MlflowClient

from crystalbench.harness.history import read_histories
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.sweep import run_sweep
from tests.helpers import small_spec

BUDGET = 6


def test_sweep_against_a_tracking_server(local_ray, artifact_root, small_dataset_csv, mlflow_server, tmp_path):
    spec = parse_spec(small_spec(tmp_path / "run", small_dataset_csv, tracking={"uri": mlflow_server,
                                                                                "experiment": "server-test"}))
    outcome = run_sweep(spec, progress=False)
    assert outcome.tracking_uri == mlflow_server

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("server-test")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    kids = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == outcome.parent_run_id]
    assert [p.info.run_id for p in parents] == [outcome.parent_run_id], "one parent run per sweep"
    cells, _ = spec.grid()
    assert sorted(r.data.tags["cell_id"] for r in kids) == sorted(c.cell_id for c in cells), "one child per grid cell"

    history = read_histories(outcome.run_dir)
    for run in kids:
        tags = run.data.tags
        assert {"method", "task", "problem", "seed", "spec_hash", "dataset_digest", "code_version"} <= set(tags)
        assert tags["spec_hash"] == spec.spec_hash
        steps = client.get_metric_history(run.info.run_id, "best_so_far")
        assert sorted(m.step for m in steps) == list(range(1, BUDGET + 1))
        rows = history.filter(pl.col("cell_id") == run.data.tags["cell_id"]).sort("step")
        assert rows.height == BUDGET
        assert [m.value for m in sorted(steps, key=lambda m: m.step)] == pytest.approx(rows["best_so_far"].to_list())
        assert run.data.metrics["final_best"] == pytest.approx(rows["best_so_far"][-1])
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "top_crystals")]
        assert artifacts and all(a.endswith(".cif") for a in artifacts)

    leaderboard = pl.read_parquet(Path(outcome.report_dir) / "leaderboard.parquet")
    for row in leaderboard.iter_rows(named=True):
        finals = (history.filter((pl.col("task") == row["task"]) & (pl.col("method") == row["method"]))
                  .sort("step").group_by("cell_id").agg(pl.col("best_so_far").last())["best_so_far"])
        assert row["n_seeds"] == 2
        assert row["final_best_mean"] == pytest.approx(finals.mean())
    for name in ("leaderboard.md", "leaderboard.html", "curves.png"):
        assert (Path(outcome.report_dir) / name).stat().st_size > 0
