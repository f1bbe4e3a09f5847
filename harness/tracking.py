"""MLflow bookkeeping of a sweep: one parent run, one child run per grid cell.

All logging happens in the driver (a Ray Tune callback and the sweep's end), so
one writer talks to the tracking store whatever the cluster size: the embedded
default is a SQLite store under the run directory, and any tracking URI works
the same; a run directory in an object store keeps its embedded store in this
node's mirror of it (``Location.local_dir``). Child runs are found by their ``cell_id`` tag under the parent, so
logging a trial again (a retry, a resumed sweep) replaces rather than
duplicates it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from harness.history import HISTORY_FILE, TrialResult, read_history
from harness.storage import Location, Where, location

QUALITY_FILES = ("quality.json", "metrics.json")
"""What a method's prepare step may write about the artifact's quality (see methods/*/quality.py)."""
METRIC_BATCH = 1000
TOP_CRYSTALS = 5


def tracking_uri(spec_uri: str | None, run_dir: Location) -> str:
    """The spec's URI, else ``MLFLOW_TRACKING_URI``, else a SQLite store in the run directory (its local mirror)."""
    return spec_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{run_dir.local_dir() / 'mlflow.db'}"


class Tracker:
    """Parent and child runs of one sweep in one MLflow experiment."""

    def __init__(self, uri: str, experiment: str, artifact_location: str | None = None):
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None and found.lifecycle_stage == "deleted":
            self.client.restore_experiment(found.experiment_id)
        self.experiment_id = (
            found.experiment_id if found else self.client.create_experiment(experiment, artifact_location)
        )

    def start_sweep(self, suite: str, tags: dict[str, str], params: dict[str, str], run_id: str | None) -> str:
        """The sweep's parent run: ``run_id`` if it still exists (a resume), else a new one."""
        if run_id is not None:
            try:
                run = self.client.get_run(run_id)
                if run.info.lifecycle_stage == "active":
                    self.client.update_run(run_id, status="RUNNING")
                    return run_id
            except Exception:  # deleted or unknown in this store: start afresh
                pass
        run = self.client.create_run(self.experiment_id, run_name=suite, tags={"kind": "sweep", **tags})
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        return run.info.run_id

    def log_prepared(self, parent_id: str, label: str, artifact_dir: Path) -> None:
        """A prepared method artifact's quality figures (``quality.json``/``metrics.json``) on the parent run.

        Numbers become metrics ``prepare.<label>.<key>`` (e.g. the valid-decode rate of
        1,000 prior samples); the files themselves go under ``prepare/<label>/``.
        """
        metrics = []
        for name in QUALITY_FILES:
            path = Path(artifact_dir) / name
            if not path.is_file():
                continue
            figures = json.loads(path.read_text())
            metrics += [_metric(f"prepare.{label}.{k}", v) for k, v in figures.items()
                        if isinstance(v, int | float) and not isinstance(v, bool)]
            self.client.log_artifact(parent_id, str(path), artifact_path=f"prepare/{label}")
        for i in range(0, len(metrics), METRIC_BATCH):
            self.client.log_batch(parent_id, metrics=metrics[i : i + METRIC_BATCH])

    def finish_sweep(self, parent_id: str, metrics: dict[str, float], failed: bool) -> None:
        self.client.log_batch(parent_id, metrics=[_metric(k, v) for k, v in metrics.items()])
        self.client.set_terminated(parent_id, status="FAILED" if failed else "FINISHED")

    def child_runs(self, parent_id: str) -> dict[str, tuple[str, str]]:
        """cell_id -> (run id, status) of the parent's active children."""
        runs, token = {}, None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", max_results=1000, page_token=token
            )
            runs.update({r.data.tags.get("cell_id"): (r.info.run_id, r.info.status) for r in page})
            token = page.token
            if not token:
                return runs

    def log_trial(self, parent_id: str, result: TrialResult, trial_dir: Where | Location, tags: dict[str, str],
                  params: dict[str, str]) -> str:
        """Create (or replace) the child run of ``result``'s cell and log everything about the trial."""
        trial_dir = location(trial_dir)
        existing = self.client.search_runs(
            [self.experiment_id],
            f"tags.mlflow.parentRunId = '{parent_id}' and tags.cell_id = '{result.cell_id}'",
        )
        for run in existing:
            self.client.delete_run(run.info.run_id)
        run_tags = {
            "mlflow.parentRunId": parent_id,
            "cell_id": result.cell_id,
            "method": result.method,
            "task": result.task,
            "problem": result.problem,
            "seed": str(result.seed),
            "status": result.status,
            **tags,
        }
        if result.error:
            run_tags["error"] = result.error[:5000]
        run_id = self.client.create_run(self.experiment_id, run_name=result.cell_id, tags=run_tags).info.run_id
        problem_info = {f"problem.{k}": v for k, v in result.extra.get("problem_info", {}).items()}
        all_params = {**params, **problem_info}
        self.client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in all_params.items()])

        history = read_history(trial_dir)
        metrics = [_metric(k, v) for k, v in _summary(result, history).items()]
        if history is not None and history.height:
            metrics += [
                _metric("best_so_far", v, step=int(s))
                for s, v in zip(history["step"].to_list(), history["best_so_far"].to_list())
            ]
        for i in range(0, len(metrics), METRIC_BATCH):
            self.client.log_batch(run_id, metrics=metrics[i : i + METRIC_BATCH])

        if history is not None:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / HISTORY_FILE).write_bytes((trial_dir / HISTORY_FILE).read_bytes())
                self.client.log_artifact(run_id, str(Path(tmp) / HISTORY_FILE))
            self._log_top_crystals(run_id, history, result.direction)
        if result.traceback:
            self.client.log_text(run_id, result.traceback, "traceback.txt")
        if result.extra.get("trace"):
            self.client.log_dict(run_id, result.extra["trace"], "trace.json")
        if result.extra.get("final", {}).get("relaxed_cif"):
            self.client.log_text(run_id, result.extra["final"]["relaxed_cif"], "final/relaxed.cif")
        self.client.set_terminated(run_id, status="FINISHED" if result.status == "complete" else "FAILED")
        return run_id

    def _log_top_crystals(self, run_id: str, history: pl.DataFrame, direction: str) -> None:
        """The best distinct valid crystals of the trial, as CIF files under ``top_crystals/``."""
        best = (
            history.filter(pl.col("valid") & pl.col("value").is_not_nan())
            .sort("value", descending=direction == "max")
            .unique(subset="cif", keep="first", maintain_order=True)
            .head(TOP_CRYSTALS)
        )
        if best.height == 0:
            return
        with tempfile.TemporaryDirectory() as tmp:
            for rank, row in enumerate(best.iter_rows(named=True), start=1):
                name = f"{rank:02d}_step{row['step']}_{row['value']:.4f}.cif"
                (Path(tmp) / name).write_text(row["cif"])
            self.client.log_artifacts(run_id, tmp, artifact_path="top_crystals")


def _summary(result: TrialResult, history: pl.DataFrame | None) -> dict[str, float]:
    summary = {"n_calls": float(result.n_calls), "wall_time_s": result.wall_time_s}
    if result.final_best is not None:
        summary["final_best"] = result.final_best
    if result.initial_best is not None:
        summary["initial_best"] = result.initial_best
    if history is not None and history.height:
        summary["valid_rate"] = float(history["valid"].mean())
        summary["physically_valid_rate"] = float(history["physically_valid"].mean())
        summary["oracle_time_per_call_s"] = float(history["oracle_time_s"].mean())
        summary["method_time_per_call_s"] = float(history["method_time_s"].mean())
    return summary | final_metrics(result.extra.get("final", {}))


def final_metrics(final: dict) -> dict[str, float]:
    """The numbers (and booleans, as 0/1) of a trial's final metrics, as ``final.<key>`` (e.g. csp26's success)."""
    return {f"final.{k}": float(v) for k, v in final.items() if isinstance(v, bool | int | float)}


def child_run_ids(uri: str, parent_id: str) -> dict[str, str]:
    """Cell id -> MLflow run id of every child run of the sweep's parent run."""
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_run(parent_id).info.experiment_id
    found, token = {}, None
    while True:
        page = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent_id}'", page_token=token)
        found |= {run.data.tags["cell_id"]: run.info.run_id for run in page if "cell_id" in run.data.tags}
        token = page.token
        if not token:
            return found


def log_final_metrics(uri: str, run_ids: dict[str, str], finals: dict[str, dict]) -> None:
    """Add ``finals[cell_id]`` as final metrics to the child run ``run_ids[cell_id]`` of each cell id.

    Used after the sweep (``harness.judging``); a cell without a child run (its
    tracking store was lost) is skipped, since its ``result.json`` holds the same.
    """
    client = MlflowClient(tracking_uri=uri)
    for cell_id, final in finals.items():
        if cell_id in run_ids:
            client.log_batch(run_ids[cell_id], metrics=[_metric(k, v) for k, v in final_metrics(final).items()])


def _metric(key: str, value: float, step: int = 0) -> Metric:
    value = float(value)
    return Metric(key, value if np.isfinite(value) else float("nan"), timestamp=int(time.time() * 1000), step=step)
