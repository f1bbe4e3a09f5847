"""A `ray start --head` on loopback: a sweep through `ray job submit`, and through cluster/submit.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, free_port, small_spec, stop_process_group

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """A Ray head started with the `ray` CLI in its own process group, with the job server on loopback."""
    port, dashboard = free_port(), free_port()
    log = tmp_path_factory.mktemp("head") / "head.log"
    # Loopback only: no token authentication, so the job CLI and the driver need no shared secret.
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
         "--dashboard-port", str(dashboard), "--disable-usage-stats"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    job_api = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.time() + 240
        # Ready when a trivial job runs: the job server answers `ray job list` before the head's
        # dashboard agent can take jobs ("No available agent to submit job"), slowly on a busy machine.
        while (probe := subprocess.run([str(BIN / "ray"), "job", "submit", "--address", job_api, "--", "true"],
                                       capture_output=True, text=True, env=env)).returncode:
            if head.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"ray head takes no jobs: {probe.stderr[-1500:]}\n{log.read_text()[-1500:]}")
            time.sleep(2)
        yield {"gcs": f"127.0.0.1:{port}", "jobs": job_api, "env": env}
    finally:
        stop_process_group(head, timeout=30)


def write_spec(path: Path, run_dir: Path, dataset: Path) -> Path:
    spec = small_spec(run_dir, dataset, tasks=[{"name": "electronegativity", "budget": 4}])
    path.write_text(yaml.safe_dump(spec))
    return path


def assert_complete(run_dir: Path) -> None:
    results = [json.loads(p.read_text()) for p in (run_dir / "trials").glob("*/result.json")]
    assert len(results) == 2 and all(r["status"] == "complete" for r in results)


def test_ray_job_submit_runs_a_sweep(ray_head, artifact_root, small_dataset_csv, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", tmp_path / "run", small_dataset_csv)
    proc = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", ray_head["jobs"], "--",
         str(BIN / "crystalbench"), "run", str(spec), "--address", ray_head["gcs"], "--no-progress"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**ray_head["env"], "CRYSTALBENCH_ARTIFACTS": str(artifact_root)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "succeeded" in proc.stdout
    assert_complete(tmp_path / "run")


def test_cluster_submit_script_against_the_head(ray_head, artifact_root, small_dataset_csv, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", tmp_path / "run", small_dataset_csv)
    proc = subprocess.run(
        [sys.executable, str(REPO / "cluster" / "submit.py"), str(spec), "--address", ray_head["gcs"],
         "--no-progress"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**ray_head["env"], "CRYSTALBENCH_ARTIFACTS": str(artifact_root)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trials: 2 complete, 0 failed" in proc.stdout
    assert_complete(tmp_path / "run")
