"""Real sweeps through local Ray: determinism, failed trials, resume, the embedded MLflow store."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import polars as pl
import pytest
from mlflow import MlflowClient
from pymatgen.core import Structure

from crystalbench.harness.errors import UserError
from crystalbench.harness.history import read_histories, read_results
from crystalbench.harness.runner import TrialContext, method_artifact_key
from crystalbench.harness.spec import parse_spec
from crystalbench.harness.storage import location
from crystalbench.harness.sweep import run_sweep
from crystalbench.harness.sweep_mlflow import log_sweep_files
from crystalbench.harness.tracking import Tracker
from tests.helpers import small_spec

VALUE_COLUMNS = ["cell_id", "step", "value", "score", "valid", "structurally_valid", "compositionally_valid",
                 "best_so_far", "cif"]


def children(outcome) -> list:
    client = MlflowClient(outcome.tracking_uri)
    parent = client.get_run(outcome.parent_run_id)
    return client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{outcome.parent_run_id}'"
    )


@pytest.fixture(scope="module")
def first_sweep(local_ray, artifact_root, small_dataset_csv, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sweep") / "a"
    return run_sweep(parse_spec(small_spec(run_dir, small_dataset_csv)), progress=False)


def test_sweep_writes_histories_results_mlflow_and_report(first_sweep):
    history = read_histories(first_sweep.run_dir)
    assert history.group_by("cell_id").len()["len"].to_list() == [6, 6, 6, 6]
    assert len(first_sweep.complete) == 4 and first_sweep.failed == []
    runs = children(first_sweep)
    assert sorted(r.data.tags["cell_id"] for r in runs) == sorted(first_sweep.complete)
    assert all(r.info.status == "FINISHED" for r in runs)
    assert (Path(first_sweep.report_dir) / "leaderboard.md").is_file()
    # best_so_far never gets worse, in each task's direction
    for (task,), group in history.group_by(["task"]):
        best = group.sort(["cell_id", "step"]).group_by("cell_id").agg(pl.col("best_so_far"))
        for curve in best["best_so_far"]:
            steps = itertools.pairwise(curve)
            assert all(b <= a for a, b in steps) if task == "formation_energy" else all(b >= a for a, b in steps)


def test_same_spec_twice_gives_identical_histories(first_sweep, small_dataset_csv, tmp_path):
    again = run_sweep(parse_spec(small_spec(tmp_path / "b", small_dataset_csv)), progress=False)
    a = read_histories(first_sweep.run_dir).select(VALUE_COLUMNS).sort(["cell_id", "step"])
    b = read_histories(again.run_dir).select(VALUE_COLUMNS).sort(["cell_id", "step"])
    assert a.equals(b)
    seeds = a.filter(pl.col("cell_id").str.contains("electronegativity")).partition_by("cell_id")
    assert seeds[0]["cif"].to_list() != seeds[1]["cif"].to_list(), "seeds must give different orders"


def test_a_raising_method_fails_its_trial_and_the_sweep_goes_on(local_ray, artifact_root, small_dataset_csv,
                                                                 tmp_path):
    spec = parse_spec(small_spec(
        tmp_path / "run", small_dataset_csv, plugins=["tests.plugins.methods"],
        methods=[{"name": "fail_on_seed", "params": {"seed_to_fail": 1, "after_calls": 3}}],
        tasks=[{"name": "electronegativity", "budget": 6}],
    ))
    outcome = run_sweep(spec, progress=False)
    assert outcome.complete == ["electronegativity.electronegativity.fail_on_seed.s0"]
    assert outcome.failed == ["electronegativity.electronegativity.fail_on_seed.s1"]
    failed = {r.cell_id: r for r in read_results(outcome.run_dir)}[outcome.failed[0]]
    assert failed.status == "failed"
    assert failed.error == "RuntimeError: deliberate failure for the test"
    assert "in ask" in failed.traceback
    partial = pl.read_parquet(Path(outcome.run_dir) / "trials" / outcome.failed[0] / "history.parquet")
    assert partial.height == 3, "calls made before the failure are kept"
    status = {r.data.tags["cell_id"]: (r.info.status, r.data.tags.get("error")) for r in children(outcome)}
    assert status[outcome.failed[0]] == ("FAILED", "RuntimeError: deliberate failure for the test")
    assert status[outcome.complete[0]] == ("FINISHED", None)


def test_resume_runs_only_missing_cells_and_keeps_one_child_each(local_ray, artifact_root, small_dataset_csv,
                                                                 tmp_path):
    spec = parse_spec(small_spec(tmp_path / "run", small_dataset_csv, tasks=[{"name": "electronegativity",
                                                                              "budget": 4}]))
    first = run_sweep(spec, progress=False)
    lost = Path(first.run_dir) / "trials" / first.complete[1]
    kept = Path(first.run_dir) / "trials" / first.complete[0] / "history.parquet"
    kept_mtime = kept.stat().st_mtime_ns
    (lost / "result.json").unlink()
    (lost / "history.parquet").unlink()

    resumed = run_sweep(spec, resume=True, progress=False)
    assert resumed.parent_run_id == first.parent_run_id
    assert sorted(resumed.complete) == sorted(first.complete)
    assert kept.stat().st_mtime_ns == kept_mtime, "finished cells are not rerun"
    assert (lost / "history.parquet").is_file()
    names = [r.data.tags["cell_id"] for r in children(resumed)]
    assert sorted(names) == sorted(first.complete), "exactly one child run per cell"
    assert json.loads((Path(first.run_dir) / "sweep.json").read_text())["parent_run_id"] == first.parent_run_id


def test_rerunning_into_a_used_run_dir_without_resume_is_refused(first_sweep, small_dataset_csv):
    from crystalbench.harness.errors import UserError

    with pytest.raises(UserError, match="already holds a sweep; use --resume"):
        run_sweep(parse_spec(small_spec(first_sweep.run_dir, small_dataset_csv)), progress=False)


def test_a_killed_trial_is_recorded_as_failed(local_ray, artifact_root, small_dataset_csv, tmp_path):
    spec = parse_spec(small_spec(
        tmp_path / "run", small_dataset_csv, plugins=["tests.plugins.methods"],
        methods=[{"name": "dies_on_seed", "params": {"seed_to_fail": 0, "after_calls": 2}}],
        tasks=[{"name": "electronegativity", "budget": 4}],
    ))
    outcome = run_sweep(spec, progress=False)
    assert outcome.failed == ["electronegativity.electronegativity.dies_on_seed.s0"]
    assert outcome.complete == ["electronegativity.electronegativity.dies_on_seed.s1"]
    result = {r.cell_id: r for r in read_results(outcome.run_dir)}[outcome.failed[0]]
    assert result.status == "failed"
    assert result.error.startswith("trial process died without a result: ")
    assert "died" in result.traceback.lower() or "exit" in result.traceback.lower()
    status = {r.data.tags["cell_id"]: r.info.status for r in children(outcome)}
    assert status == {outcome.failed[0]: "FAILED", outcome.complete[0]: "FINISHED"}


def test_dataset_filter_gives_every_trial_the_subset_only(local_ray, artifact_root, small_dataset_csv, tmp_path):
    spec = parse_spec(small_spec(tmp_path / "run", small_dataset_csv, seeds=1, dataset_filter={"n_elements": 3},
                                 tasks=[{"name": "electronegativity", "budget": 4}]))
    outcome = run_sweep(spec, progress=False)
    proposed = read_histories(outcome.run_dir)["cif"].to_list()
    assert len(proposed) == 4
    assert all(len(Structure.from_str(cif, fmt="cif").composition.elements) == 3 for cif in proposed)


def test_a_dataset_filter_that_keeps_nothing_is_a_user_error(local_ray, artifact_root, small_dataset_csv, tmp_path):
    spec = parse_spec(small_spec(tmp_path / "run", small_dataset_csv, seeds=1, dataset_filter={"n_elements": 9},
                                 tasks=[{"name": "electronegativity", "budget": 4}]))
    with pytest.raises(UserError, match=r"dataset_filter \{'n_elements': \[9\]\} leaves no crystals"):
        run_sweep(spec, progress=False)


def test_the_parent_run_keeps_each_prepared_artifacts_quality_once_with_who_used_it(tmp_path):
    spec = parse_spec({"suite": "t", "methods": ["lcom", "random_search", "crystal_lsbo", "database"],
                       "tasks": ["electronegativity", "formation_energy"]})
    store = tmp_path / "store"
    artifacts = {}
    for kind, digest in [("lcom", "en1"), ("lcom", "fe1"), ("stack", "abc")]:
        artifacts[f"{kind}/{digest}"] = store / kind / digest
        artifacts[f"{kind}/{digest}"].mkdir(parents=True)
        (artifacts[f"{kind}/{digest}"] / "quality.json").write_text(json.dumps({"valid_rate": 0.9}))
    ctx = TrialContext(suite="t", run_dir="r", dataset_path="d", task_artifacts={}, method_artifacts={
        method_artifact_key("lcom", "electronegativity"): str(artifacts["lcom/en1"]),
        method_artifact_key("lcom", "formation_energy"): str(artifacts["lcom/fe1"]),
        **{method_artifact_key(m, t): str(artifacts["stack/abc"])
           for m in ("random_search", "crystal_lsbo") for t in ("electronegativity", "formation_energy")},
        method_artifact_key("database", "electronegativity"): None,
        method_artifact_key("database", "formation_energy"): None,
    })
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "spec.yaml").write_text("suite: t\n")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "t", (tmp_path / "art").as_uri())
    parent = tracker.start_sweep("t", {}, {}, None)

    log_sweep_files(tracker, parent, location(str(run_dir)), spec, ctx)

    client = MlflowClient(uri)
    assert {a.path for a in client.list_artifacts(parent)} == {"index.json", "prepare", "spec.yaml"}
    assert {a.path for a in client.list_artifacts(parent, "prepare")} == {
        "prepare/lcom-en1", "prepare/lcom-fe1", "prepare/stack-abc"}
    index = json.loads(Path(client.download_artifacts(parent, "index.json", str(tmp_path))).read_text())
    assert sorted(index["stack-abc"]["used_by"]) == sorted(
        f"{m} on {t}" for m in ("random_search", "crystal_lsbo") for t in ("electronegativity", "formation_energy"))
    assert client.get_run(parent).data.metrics == {}, "quality figures are files, not parent metrics"
