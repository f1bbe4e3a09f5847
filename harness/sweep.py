"""A sweep: prepare artifacts, fan the grid out as Ray Tune trials, track them in MLflow, report.

Resuming runs only the cells without a complete result in the run directory, under
the same MLflow parent run; each cell keeps exactly one history file and one child run.
The run directory and the artifact store are local paths or object-store URIs
(``harness.storage``); both are checked writable before anything runs.

This module orders the phases; each lives in its own module: the run directory's state
(``harness.run_state``), the prepare phase (``harness.prepare``), the Tune trials
(``harness.trials``) and their callbacks (``harness.sweep_callbacks``), and what the sweep
puts in MLflow (``harness.sweep_mlflow``, whose ``trial_run`` is importable from here too).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ray
from mlflow.exceptions import MlflowException
from ray import tune

from crystalbench import __version__
from crystalbench.api import registry
from crystalbench.harness.console import phase, say
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import TrialResult
from crystalbench.harness.judging import judge_run
from crystalbench.harness.lock import RunDirLock
from crystalbench.harness.preflight import check_before_ray, check_cluster_resources
from crystalbench.harness.prepare import prepare_artifacts
from crystalbench.harness.remote import StepFailed
from crystalbench.harness.report import write_report
from crystalbench.harness.run_state import check_run_dir, is_complete, open_run_dir, write_state
from crystalbench.harness.spec import Cell, SkippedCell, Spec
from crystalbench.harness.storage import Location, location
from crystalbench.harness.store import local_artifact
from crystalbench.harness.sweep_callbacks import ProgressBar, TrackTrials
from crystalbench.harness.sweep_mlflow import (
    experiment_description,
    log_sweep_files,
    sweep_params,
    sync_trials,
    trial_run,
)
from crystalbench.harness.tracking import Tracker, tracking_uri
from crystalbench.harness.trials import run_trials

__all__ = ["SweepOutcome", "init_ray", "run_sweep", "trial_run", "write_run_report"]


PREPARE_ERROR_FILE = "prepare-error.txt"
"""Where a prepare step's unexpected failure keeps its whole traceback (the console gets one line)."""
INTERRUPTED = "interrupted (Ctrl-C) before it ended; --resume re-runs it"


@dataclass
class SweepOutcome:
    run_dir: str
    """A path or an object-store URI, as every reader (``read_results``, ``crystalbench report``) takes it."""
    parent_run_id: str
    tracking_uri: str
    complete: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """Cell id -> the one-line error of a failed trial (its traceback is in result.json and MLflow)."""
    skipped: list[SkippedCell] = field(default_factory=list)
    unjudged: dict[str, str] = field(default_factory=dict)
    """Cell id -> why the judging stage could not judge its final structure (``harness.judging``)."""
    not_run: list[str] = field(default_factory=list)
    """Cells with no result after this attempt: interrupted before they started; ``--resume`` runs them."""
    interrupted: bool = False
    report_dir: str | None = None
    experiment_id: str | None = None


def run_sweep(spec: Spec, address: str | None = None, resume: bool = False, progress: bool = True) -> SweepOutcome:
    """Run every cell of ``spec`` (or, with ``resume``, every cell not yet complete) and report.

    Everything that can refuse the sweep without a cluster does so before Ray starts, in
    seconds (``harness.preflight``, ``harness.run_state.check_run_dir``), the run directory is
    locked for this driver alone (``harness.lock``), and nothing but the lock is written there
    before the checks that need the cluster have passed. With ``progress``, every phase says
    on the console what it is doing (``harness.console``).
    """
    run_dir = location(spec.resolved_run_dir, "storage.run_dir")
    run_dir.check_writable("storage.run_dir")
    location(spec.resolved_artifacts, "storage.artifacts").check_writable("storage.artifacts")
    cells, skipped = spec.grid()
    ray_running = ray.is_initialized()
    check_before_ray(spec, address, ray_running)
    with RunDirLock(run_dir, say):
        check_run_dir(spec, run_dir, resume)
        with phase("starting Ray", progress):
            started_ray = init_ray(address)
        try:
            if ray_running or address not in (None, "local"):
                check_cluster_resources(spec)
            uri = tracking_uri(spec.tracking_uri, run_dir)
            _check_tracking_reaches_every_node(uri)
            state = open_run_dir(spec, run_dir, resume)
            return _sweep(spec, run_dir, state, uri, cells, skipped, progress)
        finally:
            if started_ray:
                ray.shutdown()


def _sweep(spec: Spec, run_dir: Location, state: dict, uri: str, cells: list[Cell], skipped: list[SkippedCell],
           progress: bool) -> SweepOutcome:
    """The sweep on a connected Ray: prepare, open the MLflow parent run, run the trials, judge, report."""
    for s in skipped:
        say(f"skipped: {s.method_label} x {s.task}: {s.reason}")
    todo = [c for c in cells if not is_complete(run_dir, c)]
    try:
        ctx = prepare_artifacts(spec, run_dir, progress)
    except StepFailed as exc:
        exc.saved_to = str(run_dir / PREPARE_ERROR_FILE)
        (run_dir / PREPARE_ERROR_FILE).write_text(exc.traceback)
        raise
    artifact_location = None if spec.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") else (
        (run_dir.local_dir() / "mlartifacts").as_uri()
    )
    with phase("opening the MLflow experiment", progress):
        tracker = _tracker(uri, spec.experiment_name, artifact_location)
        dataset_digest = Dataset.load(local_artifact(ctx.dataset_path)).digest
        sweep_tags = {"suite": spec.suite, "spec_hash": spec.spec_hash, "dataset_digest": dataset_digest,
                      "code_version": __version__, "run_dir": str(run_dir)}
        tracker.describe(experiment_description(spec, dataset_digest))
        parent_id = tracker.start_sweep(spec.suite, sweep_tags, sweep_params(spec, cells, skipped),
                                        _known_parent(tracker, state, uri, run_dir, spec))
        if state.get("abandoned_parent_run_id") and state.get("tracking_uri") == uri:
            tracker.end_sweep(state["abandoned_parent_run_id"], "FAILED")
        state = {k: v for k, v in state.items() if k not in ("abandoned_parent_run_id", "rebuilt")}
        state.update(parent_run_id=parent_id, tracking_uri=uri)
        write_state(run_dir, state)
    try:
        log_sweep_files(tracker, parent_id, run_dir, spec, ctx)
        interrupted = False
        if todo:
            services = _start_services(spec)
            try:
                callbacks: list[tune.Callback] = [TrackTrials(tracker, parent_id, sweep_tags, run_dir)]
                if progress:
                    callbacks.append(ProgressBar(todo, run_dir))
                interrupted = run_trials(spec, todo, ctx, run_dir, callbacks)
            finally:
                for service in services:
                    ray.kill(service)
        results = sync_trials(cells, run_dir, tracker, parent_id, sweep_tags,
                              INTERRUPTED if interrupted else None)
        outcome = _outcome(results, run_dir, parent_id, uri)
        outcome.skipped, outcome.interrupted = skipped, interrupted
        outcome.not_run = [c.cell_id for c in cells if c.cell_id not in results]
        outcome.unjudged = {} if interrupted else _judge(spec, run_dir, progress)
        if results:
            with phase("writing the report", progress):
                outcome.report_dir = write_run_report(run_dir, lambda d: tracker.log_files(parent_id, d, "report"))
        tracker.finish_sweep(
            parent_id,
            {"trials_complete": len(outcome.complete), "trials_failed": len(outcome.failed),
             "trials_not_run": len(outcome.not_run), "cells_skipped": len(skipped),
             "trials_unjudged": len(outcome.unjudged)},
            failed=bool(outcome.failed or outcome.unjudged or outcome.not_run),
            interrupted=interrupted,
        )
        outcome.experiment_id = tracker.experiment_id
        return outcome
    except BaseException as exc:  # the parent run ends with the sweep, whatever ended it
        tracker.end_sweep(parent_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise


def _tracker(uri: str, experiment: str, artifact_location: str | None) -> Tracker:
    """The sweep's tracker; a store that refuses (credentials, permissions) is one line naming it."""
    try:
        return Tracker(uri, experiment, artifact_location)
    except MlflowException as exc:
        raise UserError(f"tracking store {uri} refused the experiment {experiment!r}: "
                        f"{' '.join(exc.message.split())[:300]}") from None


def _known_parent(tracker: Tracker, state: dict, uri: str, run_dir: Location, spec: Spec) -> str | None:
    """The parent run to resume: the state's, else (a ``sweep.json`` rebuilt) the latest with this run's tags."""
    if state.get("tracking_uri") == uri and state.get("parent_run_id"):
        return state["parent_run_id"]
    if state.get("rebuilt"):
        return tracker.find_sweep({"spec_hash": spec.spec_hash, "run_dir": str(run_dir)})
    return None


def _outcome(results: dict[str, TrialResult], run_dir: Location, parent_id: str, uri: str) -> SweepOutcome:
    """The sweep's outcome from each stored cell's result (cell id -> result, in grid order)."""
    outcome = SweepOutcome(run_dir=str(run_dir), parent_run_id=parent_id, tracking_uri=uri)
    for cell_id, result in results.items():
        (outcome.complete if result.status == "complete" else outcome.failed).append(cell_id)
        if result.status != "complete":
            outcome.errors[cell_id] = result.error or "no error recorded"
    return outcome


def _judge(spec: Spec, run_dir: Location, progress: bool) -> dict[str, str]:
    """Run the judging stage for each judge the spec's tasks ask for; cell id -> error where it failed."""
    failed: dict[str, str] = {}
    for t in spec.tasks:
        for judge in registry.get_task(t.name)(**t.params).requested_judges():
            failed |= judge_run(run_dir, judge, {t.name: t.params}, progress).failed
    return failed


def write_run_report(run_dir: Location, publish: Callable[[Path], None] | None = None) -> str:
    """The sweep's report, built in a local directory and copied to ``<run_dir>/report`` (and to ``publish``)."""
    with tempfile.TemporaryDirectory() as tmp:
        write_report(run_dir, Path(tmp))
        (run_dir / "report").upload(Path(tmp))
        if publish is not None:
            publish(Path(tmp))
    return str(run_dir / "report")


def _start_services(spec: Spec) -> list:
    """The shared oracle actors of every task in the spec (e.g. one energy model per node for csp26)."""
    registry.load(list(spec.plugins))
    return [handle for t in spec.tasks for handle in registry.get_task(t.name)(**t.params).start_services()]


def _check_tracking_reaches_every_node(uri: str) -> None:
    """On a multi-node cluster the embedded SQLite store is not shared: insist on a tracking server."""
    nodes = sum(1 for n in ray.nodes() if n["Alive"])
    if nodes > 1 and uri.startswith("sqlite:"):
        raise UserError(
            f"this Ray cluster has {nodes} nodes: set tracking.uri in the spec or MLFLOW_TRACKING_URI "
            "to an MLflow tracking server"
        )


def init_ray(address: str | None) -> bool:
    """Connect to ``address`` or start a fresh local Ray; True if this call started or joined it.

    An address that accepts connections (``harness.preflight.check_address``) but where no Ray
    answers makes ``ray.init`` give up after its own timeout: that is one line too.
    """
    if ray.is_initialized():
        return False
    path = os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH", "")] if p)
    try:
        ray.init(
            address=address or "local",  # never attach to a stale `ray start` cluster by accident
            include_dashboard=False,
            logging_level="WARNING",
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    except ConnectionError as exc:
        if address in (None, "local"):
            raise
        raise UserError(f"no Ray cluster answered at --address {address}: {' '.join(str(exc).split())[:300]}") from None
    return True
