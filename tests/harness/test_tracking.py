"""The MLflow tracker on a real (SQLite-backed) store: what a sweep's parent run records."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow import MlflowClient

from harness.history import TrialResult
from harness.tracking import Tracker


def test_prepared_artifact_quality_lands_on_the_parent_run(tmp_path):
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "quality.json").write_text(json.dumps({"prior_valid_rate": 0.93, "note": "text", "ok": True}))
    (artifact / "metrics.json").write_text(json.dumps({"train_seconds": 12.5}))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "t", (tmp_path / "art").as_uri())
    parent = tracker.start_sweep("suite", {}, {}, None)

    tracker.log_prepared(parent, "lsbo_a", artifact)
    tracker.log_prepared(parent, "bare", tmp_path)  # no quality files: nothing logged, no error

    client = MlflowClient(uri)
    metrics = client.get_run(parent).data.metrics
    assert metrics == {"prepare.lsbo_a.prior_valid_rate": 0.93, "prepare.lsbo_a.train_seconds": 12.5}
    files = sorted(a.path for a in client.list_artifacts(parent, "prepare/lsbo_a"))
    assert files == ["prepare/lsbo_a/metrics.json", "prepare/lsbo_a/quality.json"]


def test_a_trials_trace_is_logged_as_an_artifact_and_read_back_whole(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "t", (tmp_path / "art").as_uri())
    parent = tracker.start_sweep("suite", {}, {}, None)
    trace = {"surrogate_energy": [[-1.0, -1.5, -2.25]], "note": "lcom"}
    result = TrialResult(cell_id="c", method="m", task="t", problem="p", seed=0, status="complete", budget=1,
                         extra={"trace": trace})

    run_id = tracker.log_trial(parent, result, tmp_path / "no_trial_dir", {}, {})

    path = MlflowClient(uri).download_artifacts(run_id, "trace.json", str(tmp_path))
    assert json.loads(Path(path).read_text()) == trace
