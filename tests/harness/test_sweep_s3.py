"""Trials and sweeps whose run directory and artifact store are in S3 (a moto server on loopback).

A trial on a node with an empty cache (no Ray, fast), then whole sweeps through real Ray
(slow: a sweep costs about a minute here), and the one-line errors of a bad storage
location: unknown protocol, missing backend, unreachable bucket.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
import ray

from crystalbench.api import registry
from crystalbench.harness import regress
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import read_histories, read_history, read_results
from crystalbench.harness.runner import TrialContext, run_cell
from crystalbench.harness.spec import Cell, parse_spec
from crystalbench.harness.store import ArtifactStore
from crystalbench.harness.sweep import run_sweep
from tests.helpers import REPO, S3_BUCKET, small_spec

TASKS = [{"name": "electronegativity", "budget": 4}]


def s3fs() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("s3")


def test_a_trial_on_a_fresh_node_reads_artifacts_from_and_writes_its_history_to_s3(s3, small_dataset_csv,
                                                                                    monkeypatch, tmp_path):
    monkeypatch.setenv("CRYSTALBENCH_CACHE", str(tmp_path / "prepare_node"))
    store = ArtifactStore(f"s3://{S3_BUCKET}/trial/artifacts")
    dataset = Dataset.from_file(small_dataset_csv)
    data_dir = store.get_or_build("dataset", {"test": "trial"}, lambda out: dataset.save(out / "dataset.parquet"))
    task_dir = registry.get_task("electronegativity")().prepare(store, dataset)
    ctx = TrialContext(suite="t", run_dir=f"s3://{S3_BUCKET}/trial/run",
                       dataset_path=store.where(data_dir / "dataset.parquet"),
                       task_artifacts={"electronegativity": store.where(task_dir)})

    monkeypatch.setenv("CRYSTALBENCH_CACHE", str(tmp_path / "trial_node"))
    cell = Cell(method="database", method_label="database", method_params={}, task="electronegativity",
                task_params={}, problem="electronegativity", seed=0, budget=5, batch_size=2)
    result = run_cell(cell, ctx)
    assert result.status == "complete"
    assert read_history(ctx.trial_dir(cell))["step"].to_list() == [1, 2, 3, 4, 5]
    assert read_results(ctx.run_dir)[0].final_best == result.final_best
    assert (tmp_path / "trial_node" / "s3" / S3_BUCKET / "trial" / "artifacts" / "dataset").is_dir()
    assert not (tmp_path / "trial_node" / "s3" / S3_BUCKET / "trial" / "run").exists(), "outputs go to the bucket"


def test_an_unreachable_bucket_fails_before_anything_runs(s3, small_dataset_csv):
    spec = parse_spec(small_spec(f"s3://{S3_BUCKET}-missing/run", small_dataset_csv, tasks=TASKS))
    with pytest.raises(UserError) as error:
        run_sweep(spec, progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"storage.run_dir s3://{S3_BUCKET}-missing/run is not writable: FileNotFoundError")
    assert not ray.is_initialized(), "checked before Ray starts"


@pytest.fixture(scope="module")
def s3_ray(s3):
    """A local Ray whose workers see the S3 endpoint (on a real cluster: the nodes' environment or IAM role)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO), **s3}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def s3_sweep(s3_ray, small_dataset_csv):
    spec = small_spec("unused", small_dataset_csv, tasks=TASKS,
                      storage={"run_dir": f"s3://{S3_BUCKET}/runs/sweep", "artifacts": f"s3://{S3_BUCKET}/artifacts"})
    return spec, run_sweep(parse_spec(spec), progress=False)


@pytest.mark.slow
def test_a_sweep_writes_results_histories_and_report_to_s3(s3_sweep):
    _, outcome = s3_sweep
    assert outcome.run_dir == f"s3://{S3_BUCKET}/runs/sweep"
    assert len(outcome.complete) == 2 and not outcome.failed
    assert read_histories(outcome.run_dir).group_by("cell_id").len()["len"].to_list() == [4, 4]
    assert {r.status for r in read_results(outcome.run_dir)} == {"complete"}
    assert s3fs().isfile(f"{S3_BUCKET}/runs/sweep/report/leaderboard.md")
    assert s3fs().isfile(f"{S3_BUCKET}/runs/sweep/sweep.json")
    assert any(p.endswith("key.json") for p in s3fs().find(f"{S3_BUCKET}/artifacts/dataset"))
    assert s3fs().ls(f"{S3_BUCKET}/runs/sweep/tune"), "Ray Tune's experiment state goes to the bucket too"
    cells = regress.summarise(outcome.run_dir)["cells"]
    assert list(cells) == ["electronegativity/electronegativity/database"]


@pytest.mark.slow
def test_resume_on_s3_runs_only_the_missing_cell(s3_sweep):
    spec, first = s3_sweep
    trials = f"{S3_BUCKET}/runs/sweep/trials"
    lost, kept = first.complete[1], first.complete[0]
    kept_modified = s3fs().info(f"{trials}/{kept}/history.parquet")["LastModified"]
    s3fs().rm(f"{trials}/{lost}", recursive=True)

    resumed = run_sweep(parse_spec(spec), resume=True, progress=False)
    assert resumed.parent_run_id == first.parent_run_id
    assert sorted(resumed.complete) == sorted(first.complete)
    assert s3fs().info(f"{trials}/{kept}/history.parquet")["LastModified"] == kept_modified, "not rerun"
    assert s3fs().isfile(f"{trials}/{lost}/history.parquet") and s3fs().isfile(f"{trials}/{lost}/result.json")


@pytest.mark.slow
def test_crystalbench_report_reads_an_s3_run_dir(s3_sweep, tmp_path):
    _, outcome = s3_sweep
    proc = subprocess.run([str(Path(sys.executable).with_name("crystalbench")), "report", outcome.run_dir,
                           "--out", str(tmp_path / "out")], check=False, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "database" in (tmp_path / "out" / "leaderboard.md").read_text()


def test_an_unknown_protocol_is_one_line_and_exit_2(small_dataset_csv):
    with pytest.raises(UserError, match="storage.run_dir 'nosuch://bucket/run': unknown storage protocol 'nosuch'"):
        parse_spec(small_spec("nosuch://bucket/run", small_dataset_csv))
    proc = subprocess.run([str(Path(sys.executable).with_name("crystalbench")), "report", "nosuch://bucket/run"],
                          check=False, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown storage protocol 'nosuch'" in proc.stderr


def test_a_missing_backend_names_the_package_to_install(small_dataset_csv):
    with pytest.raises(UserError, match=r"storage.artifacts 'abfs://container/x'.*adlfs"):
        parse_spec(small_spec("run", small_dataset_csv, storage={"artifacts": "abfs://container/x"}))
