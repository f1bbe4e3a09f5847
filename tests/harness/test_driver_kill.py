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
    while not complete_cells(run_dir) and time.time() < deadline and driver.poll() is None:
        time.sleep(0.5)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    finished = complete_cells(run_dir)
    assert 1 <= len(finished) < 3, "the kill must land mid-sweep"

    resumed = subprocess.run([CLI, "run", str(spec_path), "--resume", "--no-progress"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = complete_cells(run_dir)
    assert len(after) == 3
    assert {cell: after[cell] for cell in finished} == finished, "finished trials are kept, not rerun"
    history = pl.read_parquet(run_dir / "trials" / "*" / "history.parquet")
    assert history.group_by("cell_id").len()["len"].to_list() == [BUDGET] * 3

    state = json.loads((run_dir / "sweep.json").read_text())
    client = MlflowClient(state["tracking_uri"])
    parent = client.get_run(state["parent_run_id"])
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{state['parent_run_id']}'")
    assert sorted(r.info.run_name for r in children) == sorted(after), "each cell exactly once in MLflow"
    assert all(r.info.status == "FINISHED" for r in children)
    parents = client.search_runs([parent.info.experiment_id], "tags.kind = 'sweep'")
    assert len(parents) == 1, "the resumed sweep keeps its parent run"
