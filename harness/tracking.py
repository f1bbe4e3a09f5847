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

import os
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from crystalbench.harness.crystal import from_cif
from crystalbench.harness.errors import UserError
from crystalbench.harness.final_metrics import final_scalars
from crystalbench.harness.history import HISTORY_FILE, TrialResult, read_history
from crystalbench.harness.storage import Location, Where, location

QUALITY_FILES = ("quality.json", "metrics.json")
"""What a method's prepare step may write about the artifact's quality (see methods/*/quality.py)."""
METRIC_BATCH = 1000
TOP_CRYSTALS = 5


def tracking_uri(spec_uri: str | None, run_dir: Location) -> str:
    """The spec's URI, else ``MLFLOW_TRACKING_URI``, else a SQLite store in the run directory (its local mirror)."""
    return spec_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{run_dir.local_dir() / 'mlflow.db'}"


DATABASE_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}
"""Database schemes of MLflow's SQL store, with their default ports."""
FILE_STORE_OPT_IN = "MLFLOW_ALLOW_FILE_STORE"
PROBE_PATH = "api/2.0/mlflow/experiments/get-by-name?experiment_name=crystalbench-reachability-probe"
"""A read-only request every MLflow tracking server answers (200, or 404 RESOURCE_DOES_NOT_EXIST)."""


def check_reachable(uri: str, source: str, timeout: float) -> None:
    """Refuse, within ``timeout`` seconds, a tracking URI that no MLflow store answers at; ``source`` names its origin.

    A tracking server (http, https) must answer a read-only API request as MLflow does (an
    answer asking for credentials counts: the client sends them later); a database server must accept a
    connection; an ``sqlite:`` store is a local file, created when first used. MLflow's
    file store (a plain path) is in maintenance mode and refuses to open unless
    ``MLFLOW_ALLOW_FILE_STORE`` is set, so without it a plain path is refused here.
    """
    parts = urllib.parse.urlsplit(uri)
    scheme = parts.scheme.split("+")[0].lower()
    if scheme in ("http", "https"):
        request = urllib.request.Request(f"{uri.rstrip('/')}/{PROBE_PATH}", method="GET")
        insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true"
        try:
            urllib.request.urlopen(request, timeout=timeout,
                                   context=ssl._create_unverified_context() if insecure else None).close()
        except urllib.error.HTTPError as exc:  # an answer: MLflow's errors are JSON with an error_code
            if exc.code not in (401, 403) and b'"error_code"' not in exc.read(4096):
                raise UserError(f"tracking URI {uri} ({source}) answers HTTP {exc.code} but not as an MLflow "
                                "tracking server") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            _unreachable(uri, source, getattr(exc, "reason", exc), timeout)
    elif scheme in DATABASE_PORTS:
        try:
            socket.create_connection((parts.hostname or "localhost", parts.port or DATABASE_PORTS[scheme]),
                                     timeout=timeout).close()
        except (OSError, ValueError) as exc:
            _unreachable(uri, source, exc, timeout)
    elif scheme in ("", "file") and os.environ.get(FILE_STORE_OPT_IN, "").lower() not in ("true", "1"):
        raise UserError(f"tracking URI {uri!r} ({source}) is a file store path, which MLflow no longer opens "
                        f"unless {FILE_STORE_OPT_IN}=true; give http://HOST:PORT of a tracking server or a "
                        "database such as sqlite:///PATH")
    elif scheme not in ("", "file", "sqlite", "databricks", "databricks-uc", "uc"):
        raise UserError(f"tracking URI {uri!r} ({source}): unknown scheme {scheme!r}; give http://HOST:PORT of a "
                        "tracking server or a database such as sqlite:///PATH or postgresql://HOST/DB")


def _unreachable(uri: str, source: str, reason: object, timeout: float) -> None:
    text = "timed out" if isinstance(reason, TimeoutError | socket.timeout) else (
        getattr(reason, "strerror", None) or str(reason))
    raise UserError(f"tracking server {uri} ({source}) is unreachable: {' '.join(str(text).split()).lower()} "
                    f"(waited at most {timeout:g} s)") from None


@dataclass(frozen=True)
class TrialRun:
    """How one grid cell appears in MLflow: its run name, tags and params (known before the trial starts)."""

    cell_id: str
    name: str
    tags: dict[str, str]
    params: dict[str, str]


def run_name(method: str, seed: int, problem: str) -> str:
    """``crystal_lsbo s0 · formation_energy``: method and seed first, so names differ within the UI's first columns."""
    return f"{method} s{seed} · {problem}"


class Tracker:
    """Parent and child runs of one sweep in one MLflow experiment.

    A child run is opened when its trial starts (``open_trial``), receives ``best_so_far`` as the
    trial reports it (``log_progress``) and is closed with everything else when the trial ends
    (``close_trial``), so the UI shows a trial while it runs and its duration is the trial's.
    Opening a cell's run first ends and deletes any earlier run of the same cell (a retry, or a
    run left RUNNING by a killed driver), so a cell never has two.
    """

    def __init__(self, uri: str, experiment: str, artifact_location: str | None = None):
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None and found.lifecycle_stage == "deleted":
            self.client.restore_experiment(found.experiment_id)
        self.experiment_id = (
            found.experiment_id if found else self.client.create_experiment(experiment, artifact_location)
        )

    def describe(self, text: str) -> None:
        """The experiment's description (Markdown), shown above its runs in the UI."""
        self.client.set_experiment_tag(self.experiment_id, "mlflow.note.content", text)

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

    def log_files(self, run_id: str, local_dir: Path, artifact_path: str | None = None) -> None:
        """Every file under ``local_dir`` as artifacts of ``run_id`` (replacing files of the same name)."""
        self.client.log_artifacts(run_id, str(local_dir), artifact_path=artifact_path)

    def log_prepared(self, parent_id: str, name: str, artifact_dir: Path) -> None:
        """A prepared artifact's quality files (``quality.json``/``metrics.json``) under ``prepare/<name>/``."""
        for file in QUALITY_FILES:
            path = Path(artifact_dir) / file
            if path.is_file():
                self.client.log_artifact(parent_id, str(path), artifact_path=f"prepare/{name}")

    def finish_sweep(self, parent_id: str, metrics: dict[str, float], failed: bool, interrupted: bool = False) -> None:
        self.client.log_batch(parent_id, metrics=[_metric(k, v) for k, v in metrics.items()])
        self.client.set_terminated(parent_id, status="KILLED" if interrupted else "FAILED" if failed else "FINISHED")

    def end_sweep(self, parent_id: str, status: str) -> None:
        """End the parent run with ``status`` (FAILED, KILLED) if it is still running: a sweep that stopped early."""
        try:
            if self.client.get_run(parent_id).info.status == "RUNNING":
                self.client.set_terminated(parent_id, status=status)
        except Exception:  # noqa: BLE001 - the store itself may be what failed; the sweep's own error is raised
            pass

    def find_sweep(self, tags: dict[str, str]) -> str | None:
        """The latest active parent run of this experiment carrying ``tags`` (None if none, or a tag has a quote)."""
        if any("'" in v for v in tags.values()):
            return None
        query = " and ".join(["tags.kind = 'sweep'", *(f"tags.{k} = '{v}'" for k, v in tags.items())])
        found = self.client.search_runs([self.experiment_id], query, max_results=1,
                                        order_by=["attributes.start_time DESC"])
        return found[0].info.run_id if found else None

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

    def open_trial(self, parent_id: str, trial: TrialRun, start_ms: int | None = None) -> str:
        """A RUNNING child run for ``trial``, replacing any earlier run of the same cell; its run id."""
        self.discard_trial(parent_id, trial.cell_id)
        tags = {"mlflow.parentRunId": parent_id, "cell_id": trial.cell_id, **trial.tags}
        run_id = self.client.create_run(self.experiment_id, start_time=start_ms, run_name=trial.name,
                                        tags=tags).info.run_id
        self.client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in trial.params.items()])
        return run_id

    def discard_trial(self, parent_id: str, cell_id: str) -> None:
        """End (as FAILED) and delete every run of ``cell_id`` under the parent: a cell keeps one run."""
        existing = self.client.search_runs(
            [self.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}' and tags.cell_id = '{cell_id}'"
        )
        for run in existing:
            if run.info.status == "RUNNING":
                self.client.set_terminated(run.info.run_id, status="FAILED")
            self.client.delete_run(run.info.run_id)

    def log_progress(self, run_id: str, step: int, best_so_far: float, direction: str | None = None) -> None:
        """``best_so_far`` after ``step`` oracle calls, while the trial runs (and its direction, once known)."""
        if direction is not None:
            self.client.set_tag(run_id, "direction", direction)
        if np.isfinite(best_so_far):
            self.client.log_batch(run_id, metrics=[_metric("best_so_far", best_so_far, step=step)])

    def close_trial(self, run_id: str, result: TrialResult, trial_dir: Where | Location,
                    logged_steps: Iterable[int] = (), end_ms: int | None = None) -> None:
        """Log everything about the finished (or failed) trial and end its run.

        ``logged_steps`` are the steps whose ``best_so_far`` ``log_progress`` already logged:
        the rest of the history is added, so every step appears exactly once.
        """
        trial_dir = location(trial_dir)
        tags = {"status": result.status, "direction": result.direction}
        if result.error:
            tags["error"] = result.error[:5000]
        for key, value in tags.items():
            self.client.set_tag(run_id, key, value)
        problem_info = {f"problem.{k}": v for k, v in result.extra.get("problem_info", {}).items()}
        self.client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in problem_info.items()])

        history = read_history(trial_dir)
        metrics = [_metric(k, v) for k, v in _summary(result, history).items()]
        if history is not None and history.height:
            done = set(logged_steps)
            metrics += [
                _metric("best_so_far", v, step=int(s))
                for s, v in zip(history["step"].to_list(), history["best_so_far"].to_list())
                if int(s) not in done
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
        if result.extra.get("final", {}).get("structure"):
            self.client.log_text(run_id, result.extra["final"]["structure"], "final/structure.cif")
        self.client.set_terminated(run_id, status="FINISHED" if result.status == "complete" else "FAILED",
                                   end_time=end_ms)

    def log_trial(self, parent_id: str, trial: TrialRun, result: TrialResult, trial_dir: Where | Location) -> str:
        """The whole child run of a trial that ended without one (a killed driver): its duration is the trial's."""
        end_ms = int(time.time() * 1000)
        run_id = self.open_trial(parent_id, trial, start_ms=end_ms - int(result.wall_time_s * 1000))
        self.close_trial(run_id, result, trial_dir, end_ms=end_ms)
        return run_id

    def _log_top_crystals(self, run_id: str, history: pl.DataFrame, direction: str) -> None:
        """The best distinct valid crystals of the trial, as ``top_crystals/01_Li2O_step12_-3.1234.cif``."""
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
                formula = from_cif(row["cif"]).composition.reduced_formula
                name = f"{rank:02d}_{formula}_step{row['step']}_{row['value']:.4f}.cif"
                (Path(tmp) / name).write_text(row["cif"])
            self.client.log_artifacts(run_id, tmp, artifact_path="top_crystals")


def _summary(result: TrialResult, history: pl.DataFrame | None) -> dict[str, float]:
    summary = {"n_calls": float(result.n_calls), "wall_time_s": result.wall_time_s}
    if result.final_best is not None:
        summary["final_best"] = result.final_best
    if result.initial_best is not None:
        summary["initial_best"] = result.initial_best
    if result.final_best is not None and result.initial_best is not None:
        summary["improvement"] = improvement(result.final_best, result.initial_best, result.direction)
    if history is not None and history.height:
        summary["valid_rate"] = float(history["valid"].mean())
        summary["structurally_valid_rate"] = float(history["structurally_valid"].mean())
        summary["compositionally_valid_rate"] = float(history["compositionally_valid"].mean())
        summary["both_valid_rate"] = float((history["structurally_valid"] & history["compositionally_valid"]).mean())
        summary["oracle_time_per_call_s"] = float(history["oracle_time_s"].mean())
        summary["method_time_per_call_s"] = float(history["method_time_s"].mean())
    return summary | final_metrics(final_scalars(result))


def improvement(final_best: float, initial_best: float, direction: str) -> float:
    """How far the trial's best beats the initial labelled best, positive when better, whatever the direction.

    The one metric that sorts and groups the same way on every task (a minimised and a
    maximised task's ``final_best`` cannot be averaged together).
    """
    return (final_best - initial_best) if direction == "max" else (initial_best - final_best)


def final_metrics(scalars: dict, prefix: str = "final.") -> dict[str, float]:
    """The numbers (and booleans, as 0/1) of a flat row of final scalars (``final_scalars``), as ``<prefix><key>``."""
    return {f"{prefix}{k}": float(v) for k, v in scalars.items() if isinstance(v, bool | int | float)}


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


def log_final_metrics(uri: str, run_ids: dict[str, str], finals: dict[str, dict], prefix: str = "final.") -> None:
    """Add the numbers of ``finals[cell_id]`` as ``<prefix><key>`` metrics to the child run ``run_ids[cell_id]``.

    Used after the sweep (``harness.judging``); a cell without a child run (its
    tracking store was lost) is skipped, since its ``result.json`` holds the same.
    """
    client = MlflowClient(tracking_uri=uri)
    for cell_id, final in finals.items():
        if cell_id in run_ids:
            client.log_batch(run_ids[cell_id], metrics=[_metric(k, v) for k, v in final_metrics(final, prefix).items()])


def _metric(key: str, value: float, step: int = 0) -> Metric:
    value = float(value)
    return Metric(key, value if np.isfinite(value) else float("nan"), timestamp=int(time.time() * 1000), step=step)


UI_PORT = 5000


def ui_link(uri: str, experiment_id: str | None, port: int = UI_PORT) -> tuple[str | None, str]:
    """How to see the sweep's runs in the MLflow UI: the command that serves the UI (None for a server) and the link.

    The link opens the experiment's runs table in the UI's model-training view
    (``workflowType=machine_learning``): MLflow 3 otherwise opens an experiment on its
    GenAI overview, with no runs in sight.
    """
    if uri.startswith(("http://", "https://")):
        command, base = None, uri.rstrip("/")
    else:
        command, base = f"mlflow ui --backend-store-uri {uri} --port {port}", f"http://127.0.0.1:{port}"
    return command, f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
