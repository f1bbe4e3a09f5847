"""The MLflow tracker on a real (SQLite-backed) store: parent and child runs as the UI shows them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient
from pymatgen.core import Lattice, Structure

from crystalbench.harness.crystal import to_cif
from crystalbench.harness.history import TrialResult, write_history
from crystalbench.harness.tracking import Tracker, TrialRun, improvement, run_name, ui_link


@pytest.fixture
def tracker(tmp_path) -> Tracker:
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "t", (tmp_path / "art").as_uri())


def trial(cell_id: str = "fe.fe.m.s0") -> TrialRun:
    return TrialRun(cell_id, run_name("m", 0, "fe"), {"method": "m", "seed": "0"}, {"method": "m", "seed": "0"})


def history_rows(values: list[float], direction: str = "min") -> list[dict]:
    rock_salt = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.69), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    rows, best = [], float("nan")
    for step, value in enumerate(values, start=1):
        best = value if step == 1 else (min(best, value) if direction == "min" else max(best, value))
        rows.append({"suite": "s", "cell_id": "c", "method": "m", "task": "fe", "problem": "fe", "seed": 0,
                     "step": step, "batch": step, "value": value, "score": value, "valid": True,
                     "structurally_valid": True,
                     "compositionally_valid": True, "best_so_far": best, "method_time_s": 0.0, "oracle_time_s": 0.0,
                     "cif": to_cif(rock_salt)})
    return rows


def test_run_names_differ_within_the_first_25_characters_across_seeds_and_tasks():
    names = [run_name(m, s, p) for m in ("crystal_lca_lsbo", "crystal_lsbo") for s in (0, 1)
             for p in ("formation_energy", "electronegativity")]
    assert len({n[:25] for n in names}) == len(names)
    assert run_name("crystal_lsbo", 0, "formation_energy") == "crystal_lsbo s0 · formation_energy"


def test_improvement_is_positive_when_the_trial_beat_its_initial_best_in_either_direction():
    assert improvement(-3.0, -2.5, "min") == pytest.approx(0.5)
    assert improvement(3.5, 3.0, "max") == pytest.approx(0.5)
    assert improvement(-2.0, -2.5, "min") < 0 and improvement(2.5, 3.0, "max") < 0


def test_a_child_run_is_running_while_its_trial_runs_and_ends_with_every_step_once(tracker, tmp_path):
    parent = tracker.start_sweep("suite", {}, {}, None)
    run_id = tracker.open_trial(parent, trial())
    tracker.log_progress(run_id, 0, float("nan"), "min")
    tracker.log_progress(run_id, 2, -2.0)
    tracker.log_progress(run_id, 4, -3.0)
    client = MlflowClient(tracker.uri)
    live = client.get_run(run_id)
    assert live.info.status == "RUNNING" and live.data.tags["direction"] == "min"
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "best_so_far")] == [(2, -2.0), (4, -3.0)]

    time.sleep(0.3)
    write_history(tmp_path, history_rows([-1.0, -2.0, -2.5, -3.0, -2.0]))
    result = TrialResult(cell_id="fe.fe.m.s0", method="m", task="fe", problem="fe", seed=0, status="complete",
                         budget=5, n_calls=5, initial_best=-2.5, final_best=-3.0, wall_time_s=0.3)
    tracker.close_trial(run_id, result, tmp_path, logged_steps={0, 2, 4})

    done = client.get_run(run_id)
    assert done.info.status == "FINISHED"
    assert done.info.end_time - done.info.start_time >= 300, "the run lasts as long as its trial"
    history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "best_so_far"))
    assert history == [(1, -1.0), (2, -2.0), (3, -2.5), (4, -3.0), (5, -3.0)]
    assert done.data.metrics["improvement"] == pytest.approx(0.5)
    crystals = [a.path for a in client.list_artifacts(run_id, "top_crystals")]
    assert crystals == ["top_crystals/01_NaCl_step4_-3.0000.cif"], "one distinct crystal, named by its formula"


def test_opening_a_cell_again_ends_and_replaces_its_earlier_run(tracker):
    parent = tracker.start_sweep("suite", {}, {}, None)
    first = tracker.open_trial(parent, trial())  # left RUNNING, as by a killed driver
    second = tracker.open_trial(parent, trial())
    client = MlflowClient(tracker.uri)
    assert set(tracker.child_runs(parent)) == {"fe.fe.m.s0"}
    assert tracker.child_runs(parent)["fe.fe.m.s0"] == (second, "RUNNING")
    old = client.get_run(first).info
    assert (old.status, old.lifecycle_stage) == ("FAILED", "deleted")


def test_a_trial_logged_after_the_fact_lasts_as_long_as_it_ran(tracker, tmp_path):
    parent = tracker.start_sweep("suite", {}, {}, None)
    result = TrialResult(cell_id="c", method="m", task="t", problem="p", seed=0, status="complete", budget=1,
                         wall_time_s=42.0, extra={"trace": {"surrogate_energy": [[-1.0, -1.5]], "note": "lcom"}})
    run_id = tracker.log_trial(parent, trial("c"), result, tmp_path / "no_trial_dir")
    client = MlflowClient(tracker.uri)
    info = client.get_run(run_id).info
    assert abs((info.end_time - info.start_time) - 42_000) < 1000
    path = client.download_artifacts(run_id, "trace.json", str(tmp_path))
    assert json.loads(Path(path).read_text()) == result.extra["trace"]


def test_prepared_artifact_quality_lands_on_the_parent_run_as_files_not_metrics(tracker, tmp_path):
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "quality.json").write_text(json.dumps({"prior_valid_rate": 0.93}))
    (artifact / "metrics.json").write_text(json.dumps({"train_seconds": 12.5}))
    parent = tracker.start_sweep("suite", {}, {}, None)
    tracker.log_prepared(parent, "stack-abc", artifact)
    tracker.log_prepared(parent, "bare", tmp_path / "empty")  # no quality files: nothing logged, no error
    client = MlflowClient(tracker.uri)
    assert client.get_run(parent).data.metrics == {}
    files = sorted(a.path for a in client.list_artifacts(parent, "prepare/stack-abc"))
    assert files == ["prepare/stack-abc/metrics.json", "prepare/stack-abc/quality.json"]


def test_the_ui_link_opens_the_runs_view_of_a_server_or_says_how_to_serve_a_local_store():
    command, link = ui_link("sqlite:////tmp/r/mlflow.db", "7")
    assert command == "mlflow ui --backend-store-uri sqlite:////tmp/r/mlflow.db --port 5000"
    assert link == "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning"
    assert ui_link("http://mlflow.internal:5000/", "3") == (
        None, "http://mlflow.internal:5000/#/experiments/3/runs?workflowType=machine_learning")
