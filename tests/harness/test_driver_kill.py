"""Kill the driver process mid-sweep (SIGKILL, no cleanup), resume, and lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import yaml
from mlflow import MlflowClient

from tests.helpers import REPO, small_spec

CLI = str(Path(sys.executable).with_name("crystalbench"))
BUDGET = 15


def complete_cells(run_dir: Path) -> dict[str, int]:
    """cell_id -> mtime of its history, for cells whose result says complete."""
    done = {}
    for result in (run_dir / "trials").glob("*/result.json"):
        if json.loads(result.read_text())["status"] == "complete":
            done[result.parent.name] = (result.parent / "history.parquet").stat().st_mtime_ns
    return done


def child_runs(uri: str, parent_id: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_run(parent_id).info.experiment_id
    return client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent_id}'")


def best_so_far(uri: str, run_id: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in MlflowClient(uri).get_metric_history(run_id, "best_so_far"))


def test_killed_driver_then_resume(artifact_root, small_dataset_csv, tmp_path):
    run_dir = tmp_path / "run"
    spec = small_spec(run_dir, small_dataset_csv, seeds=3, plugins=["tests.plugins.methods"],
                      methods=[{"name": "slow_database", "params": {"seconds_per_ask": 0.3}}],
                      tasks=[{"name": "electronegativity", "budget": BUDGET}])
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    env = {**os.environ, "PYTHONPATH": str(REPO), "CRYSTALBENCH_ARTIFACTS": str(artifact_root)}

    driver = subprocess.Popen([CLI, "run", str(spec_path), "--no-progress"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    seen_live = False
    while not complete_cells(run_dir) and time.time() < deadline and driver.poll() is None:
        if not seen_live and (run_dir / "sweep.json").is_file():
            state = json.loads((run_dir / "sweep.json").read_text())
            if "parent_run_id" in state:
                live = [r for r in child_runs(state["tracking_uri"], state["parent_run_id"])
                        if r.info.status == "RUNNING" and best_so_far(state["tracking_uri"], r.info.run_id)]
                seen_live = bool(live)
        time.sleep(0.5)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = complete_cells(run_dir)
    assert 1 <= len(finished) < 3, "the kill must land mid-sweep"
    assert seen_live, "a running trial has a RUNNING child run with best_so_far before it ends"
    state = json.loads((run_dir / "sweep.json").read_text())
    uri, parent_id = state["tracking_uri"], state["parent_run_id"]
    before = {r.data.tags["cell_id"]: (r.info.run_id, best_so_far(uri, r.info.run_id))
              for r in child_runs(uri, parent_id) if r.info.status == "FINISHED"}

    resumed = subprocess.run([CLI, "run", str(spec_path), "--resume"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Traceback" not in resumed.stderr, resumed.stderr[-3000:]
    after = complete_cells(run_dir)
    assert len(after) == 3
    assert {cell: after[cell] for cell in finished} == finished, "finished trials are kept, not rerun"
    history = pl.read_parquet(run_dir / "trials" / "*" / "history.parquet")
    assert history.group_by("cell_id").len()["len"].to_list() == [BUDGET] * 3

    children = child_runs(uri, parent_id)
    assert sorted(r.data.tags["cell_id"] for r in children) == sorted(after), "each cell exactly once in MLflow"
    assert all(r.info.status == "FINISHED" for r in children), "none left RUNNING"
    kept = {r.data.tags["cell_id"]: (r.info.run_id, best_so_far(uri, r.info.run_id)) for r in children}
    assert {cell: kept[cell] for cell in before} == before, "completed cells' runs and histories are untouched"
    assert all(len(steps) == BUDGET for _, steps in kept.values()), "every step once"
    parents = MlflowClient(uri).search_runs([children[0].info.experiment_id], "tags.kind = 'sweep'")
    assert len(parents) == 1, "the resumed sweep keeps its parent run"
