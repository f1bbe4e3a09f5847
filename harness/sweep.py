"""A sweep: prepare artifacts, fan the grid out as Ray Tune trials, track them in MLflow, report.

Resuming runs only the cells without a complete result in the run directory, under
the same MLflow parent run; each cell keeps exactly one history file and one child run.
The run directory and the artifact store are local paths or object-store URIs
(``harness.storage``); both are checked writable before anything runs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.fs
import ray
import yaml
from ray import tune
from ray.tune.trainable.function_trainable import wrap_function
from tqdm import tqdm

from crystalbench import __version__
from crystalbench.api import registry
from crystalbench.harness.console import LOG_EVERY_S, phase, say
from crystalbench.harness.dataset import Dataset, bundled_path, file_digest
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import RESULT_FILE, SPEC_FILE, SWEEP_FILE, TRIALS_DIR, TrialResult
from crystalbench.harness.judging import judge_run
from crystalbench.harness.report import write_report
from crystalbench.harness.runner import TrialContext, method_artifact_key, run_cell
from crystalbench.harness.spec import Cell, SkippedCell, Spec
from crystalbench.harness.storage import Location, location
from crystalbench.harness.store import ArtifactStore, local_artifact
from crystalbench.harness.tracking import Tracker, TrialRun, run_name, tracking_uri


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
    report_dir: str | None = None
    experiment_id: str | None = None


def run_sweep(spec: Spec, address: str | None = None, resume: bool = False, progress: bool = True) -> SweepOutcome:
    """Run every cell of ``spec`` (or, with ``resume``, every cell not yet complete) and report.

    With ``progress``, every phase says on the console what it is doing (``harness.console``).
    """
    run_dir = location(spec.resolved_run_dir, "storage.run_dir")
    run_dir.check_writable("storage.run_dir")
    location(spec.resolved_artifacts, "storage.artifacts").check_writable("storage.artifacts")
    cells, skipped = spec.grid()
    with phase("starting Ray", progress):
        started_ray = init_ray(address)
    try:
        uri = tracking_uri(spec.tracking_uri, run_dir)
        _check_tracking_reaches_every_node(uri)
        state = _open_run_dir(spec, run_dir, resume)
        for s in skipped:
            say(f"skipped: {s.method_label} x {s.task}: {s.reason}")
        todo = [c for c in cells if not _is_complete(run_dir, c)]
        ctx = _prepare(spec, run_dir, progress)
        artifact_location = None if spec.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") else (
            (run_dir.local_dir() / "mlartifacts").as_uri()
        )
        with phase("opening the MLflow experiment", progress):
            tracker = Tracker(uri, spec.experiment_name, artifact_location)
            dataset_digest = Dataset.load(local_artifact(ctx.dataset_path)).digest
            sweep_tags = {"suite": spec.suite, "spec_hash": spec.spec_hash, "dataset_digest": dataset_digest,
                          "code_version": __version__}
            tracker.describe(experiment_description(spec, dataset_digest))
            parent_id = tracker.start_sweep(spec.suite, sweep_tags, _sweep_params(spec, cells, skipped),
                                            state.get("parent_run_id") if state.get("tracking_uri") == uri else None)
            state.update(parent_run_id=parent_id, tracking_uri=uri)
            _write_state(run_dir, state)
            _log_sweep_files(tracker, parent_id, run_dir, spec, ctx)

        if todo:
            services = _start_services(spec)
            try:
                _fit(spec, todo, ctx, tracker, parent_id, sweep_tags, run_dir, progress)
            finally:
                for service in services:
                    ray.kill(service)
        outcome = _sync(cells, run_dir, tracker, parent_id, sweep_tags, uri)
        outcome.skipped = skipped
        outcome.unjudged = _judge(spec, run_dir, progress)
        with phase("writing the report", progress):
            outcome.report_dir = write_run_report(run_dir, lambda d: tracker.log_files(parent_id, d, "report"))
        tracker.finish_sweep(
            parent_id,
            {"trials_complete": len(outcome.complete), "trials_failed": len(outcome.failed),
             "cells_skipped": len(skipped), "trials_unjudged": len(outcome.unjudged)},
            failed=bool(outcome.failed or outcome.unjudged),
        )
        outcome.experiment_id = tracker.experiment_id
        return outcome
    finally:
        if started_ray:
            ray.shutdown()


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


def _log_sweep_files(tracker: Tracker, parent_id: str, run_dir: Location, spec: Spec, ctx: TrialContext) -> None:
    """On the parent run: the resolved ``spec.yaml`` and each prepared artifact's quality files, once per artifact.

    Methods that share a trained model (the three Crystal-LSBO methods, say) share one
    artifact; it is logged once, under ``prepare/<kind>-<digest>/``, and ``prepare/index.json``
    says which method and task used which.
    """
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / SPEC_FILE).write_bytes((run_dir / SPEC_FILE).read_bytes())
        users: dict[str, list[str]] = {}
        for m in spec.methods:
            for t in spec.tasks:
                if artifact := ctx.method_artifacts.get(method_artifact_key(m.label, t.name)):
                    users.setdefault(artifact, []).append(f"{m.label} on {t.name}")
        index = {}
        for artifact, used_by in users.items():
            local = local_artifact(artifact)
            name = f"{local.parent.name}-{local.name[:12]}"
            index[name] = {"artifact": artifact, "used_by": used_by}
            tracker.log_prepared(parent_id, name, local)
        (Path(tmp) / "index.json").write_text(json.dumps(index, indent=2))
        tracker.log_files(parent_id, Path(tmp))


def experiment_description(spec: Spec, dataset_digest: str) -> str:
    """The experiment's description in the MLflow UI: what the sweep is and what its metrics mean."""
    return (
        f"**crystalbench** suite `{spec.suite}` (spec hash `{spec.spec_hash[:12]}`, code version {__version__}, "
        f"dataset `{dataset_digest[:12]}`): {len(spec.methods)} methods × {len(spec.tasks)} tasks × "
        f"{len(spec.seeds)} seeds. One parent run per sweep (the report, the resolved spec, the prepared "
        "models' quality files), one child run per trial, named `method sSEED · problem`.\n\n"
        "Metrics of a child run: `best_so_far` (step = oracle call) and `final_best` are the task's own value "
        "(tag `direction`: min or max); `initial_best` is the best of the initial labelled set; "
        "`improvement` is how far the trial beat it, **positive when better on every task**, so sort and group "
        "by that across tasks; `valid_rate` and `physically_valid_rate` are shares of the proposals; "
        "`final.*` are a task's final metrics (csp26: relaxed energy, success criteria, judges). "
        "Group the runs by the `method` and `task` params to compare methods per task."
    )


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


def _open_run_dir(spec: Spec, run_dir: Location, resume: bool) -> dict:
    """Check the run directory against ``resume``; write the spec; return the saved sweep state."""
    state_file = run_dir / SWEEP_FILE
    if state_file.is_file():
        state = json.loads(state_file.read_text())
        if not resume:
            raise UserError(f"run directory {run_dir} already holds a sweep; use --resume or another run_dir")
        if state.get("spec_hash") != spec.spec_hash:
            raise UserError(f"cannot resume {run_dir}: it was run from a different spec (hash {state['spec_hash'][:12]})")
        return state
    (run_dir / SPEC_FILE).write_text(yaml.safe_dump(_spec_record(spec), sort_keys=False))
    state = {"suite": spec.suite, "spec_hash": spec.spec_hash, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    _write_state(run_dir, state)
    return state


def _write_state(run_dir: Location, state: dict) -> None:
    (run_dir / SWEEP_FILE).write_text(json.dumps(state, indent=2))


def _spec_record(spec: Spec) -> dict:
    record = asdict(spec)
    record["spec_hash"] = spec.spec_hash
    return json.loads(json.dumps(record))


def _is_complete(run_dir: Location, cell: Cell) -> bool:
    path = run_dir / TRIALS_DIR / cell.cell_id / RESULT_FILE
    return path.is_file() and json.loads(path.read_text()).get("status") == "complete"


def init_ray(address: str | None) -> bool:
    """Connect to ``address`` or start a fresh local Ray; True if this call started or joined it."""
    if ray.is_initialized():
        return False
    path = os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH", "")] if p)
    ray.init(
        address=address or "local",  # never attach to a stale `ray start` cluster by accident
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    return True


def _prepare(spec: Spec, run_dir: Location, progress: bool = True) -> TrialContext:
    """Build (or find) the dataset, task and method artifacts as Ray tasks, in parallel where independent.

    Method artifacts (trained generative models) are built once per method setting, whatever the
    tasks, and ask for a whole GPU when the cluster has one. Each step returns its artifact's
    store-wide name (``ArtifactStore.where``), which a trial on any node resolves to a local path.
    """
    store_root = spec.resolved_artifacts
    source = Path(spec.dataset) if spec.dataset else bundled_path()
    with phase("preparing the dataset", progress):
        dataset_path = ray.get(_prepare_dataset.remote(str(source), spec.dataset_filter, store_root))
    task_refs = {t.name: _prepare_task.remote(t.name, t.params, t.problems, store_root, dataset_path,
                                              list(spec.plugins))
                 for t in spec.tasks}
    train = _prepare_method.options(num_gpus=1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0)
    method_refs = {
        method_artifact_key(m.label, t.name): train.remote(m.name, m.params, t.name, store_root, dataset_path,
                                                           list(spec.plugins))
        for m in spec.methods
        for t in spec.tasks
        if registry.incompatibility(m.name, t.name) is None
    }
    names = {ref: f"task {name}" for name, ref in task_refs.items()}
    names |= {ref: key.replace("|", " on ") for key, ref in method_refs.items()}
    with phase(f"preparing {len(names)} artifacts (oracles, trained models; cached after the first run)",
               progress) as running:
        _wait_all(names, running)
    return TrialContext(
        suite=spec.suite,
        run_dir=str(run_dir),
        dataset_path=dataset_path,
        task_artifacts={k: ray.get(v) for k, v in task_refs.items()},
        method_artifacts={k: ray.get(v) for k, v in method_refs.items()},
        plugins=spec.plugins,
    )


def _wait_all(names: dict[ray.ObjectRef, str], running) -> None:
    """Wait for every ref, keeping ``running.detail`` on what is still being built (the first error raises)."""
    pending = dict(names)
    while pending:
        running.detail = f"{len(names) - len(pending)} of {len(names)} ready; building " + ", ".join(
            sorted(set(pending.values()))[:3]) + (" …" if len(set(pending.values())) > 3 else "")
        done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in done:
            ray.get(ref)
            pending.pop(ref)


@ray.remote
def _prepare_dataset(source: str, dataset_filter: dict, store_root: str) -> str:
    key = {"source_digest": file_digest(Path(source)), **({"filter": dataset_filter} if dataset_filter else {})}
    store = ArtifactStore(store_root)

    def build(out: Path) -> None:
        dataset = Dataset.from_file(Path(source)).filter(**dataset_filter)
        if len(dataset) == 0:
            raise UserError(f"dataset_filter {dataset_filter} leaves no crystals of {source}")
        dataset.save(out / "dataset.parquet")

    path = store.get_or_build("dataset", key, build)
    return store.where(path / "dataset.parquet")


@ray.remote
def _prepare_task(
    name: str, params: dict, problems: tuple[str, ...] | None, store_root: str, dataset_path: str, plugins: list[str]
) -> str:
    registry.load(plugins)
    task = registry.get_task(name)(**params)
    store = ArtifactStore(store_root)
    return store.where(task.prepare(store, Dataset.load(local_artifact(dataset_path)), problems))


@ray.remote
def _prepare_method(
    name: str, params: dict, task: str, store_root: str, dataset_path: str, plugins: list[str]
) -> str | None:
    registry.load(plugins)
    store = ArtifactStore(store_root)
    path = registry.get_method(name).prepare(store, Dataset.load(local_artifact(dataset_path)), params, task)
    return store.where(path) if path else None


def _trainable(config: dict, ctx: TrialContext) -> None:
    run_cell(Cell(**config["cell"]), ctx, report=tune.report)


def _trial_class(ctx: TrialContext) -> type:
    """The Tune trainable of a sweep's trials: ``_trainable`` over ``ctx``, ending quietly.

    When a trial's actor exits, the raylet sends its process SIGTERM (then SIGKILL
    200 ms later). Ray's worker turns SIGTERM into ``SystemExit`` raised wherever the main
    thread is, and a worker still tearing down torch or xgboost objects then prints a
    traceback from inside a garbage-collector callback, though the trial completed.
    ``cleanup`` runs on the actor's main thread after the trial has reported everything,
    so it restores SIGTERM's default action there: the process ends silently, as the
    raylet asks. Errors of the trial itself are reported before this point.
    """

    class CellTrial(wrap_function(tune.with_parameters(_trainable, ctx=ctx))):
        def cleanup(self) -> None:
            try:
                super().cleanup()
            finally:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)

    return CellTrial


def _fit(spec: Spec, todo: list[Cell], ctx: TrialContext, tracker: Tracker, parent_id: str, tags: dict[str, str],
         run_dir: Location, progress: bool) -> None:
    resources = {"cpu": spec.cpu, "gpu": spec.gpu}
    trainable = tune.with_resources(_trial_class(ctx), resources)
    tune_dir = run_dir / "tune"
    attempt = len(tune_dir.glob("attempt-*")) + 1
    callbacks: list[tune.Callback] = [_TrackTrials(tracker, parent_id, tags, run_dir)]
    if progress:
        callbacks.append(_ProgressBar(todo, run_dir))
    tuner = tune.Tuner(
        trainable,
        param_space={"cell": tune.grid_search([asdict(c) for c in todo])},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=spec.max_concurrent_trials,
            trial_name_creator=lambda t: _cell_of(t).cell_id,
            trial_dirname_creator=lambda t: _cell_of(t).cell_id,
        ),
        run_config=tune.RunConfig(
            name=f"attempt-{attempt}",
            storage_path=tune_dir.path,
            storage_filesystem=pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(tune_dir.fs)),
            failure_config=tune.FailureConfig(max_failures=spec.max_retries),
            callbacks=callbacks,
            verbose=0,
        ),
    )
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's newer console output ignores verbose=0
    tuner.fit()


def _cell_of(trial: tune.experiment.Trial) -> Cell:
    return Cell(**trial.config["cell"])


def trial_run(cell: Cell, sweep_tags: dict[str, str]) -> TrialRun:
    """How ``cell``'s trial appears in MLflow: name, tags (with the sweep's), params (the cell's identity too).

    Method, task, problem and seed are params as well as tags: the UI's compare plots and
    grouping read params.
    """
    identity = {"method": cell.method_label, "task": cell.task, "problem": cell.problem, "seed": str(cell.seed)}
    params = {**identity, "budget": cell.budget, "batch_size": cell.batch_size, "method_name": cell.method}
    params.update({f"method.{k}": v for k, v in cell.method_params.items()})
    params.update({f"task.{k}": v for k, v in cell.task_params.items()})
    return TrialRun(
        cell_id=cell.cell_id,
        name=run_name(cell.method_label, cell.seed, cell.problem),
        tags={**identity, "status": "running", **sweep_tags},
        params={k: str(v) for k, v in params.items()},
    )


class _TrackTrials(tune.Callback):
    """Each trial's MLflow child run: opened when the trial starts, fed while it runs, closed when it ends."""

    def __init__(self, tracker: Tracker, parent_id: str, tags: dict[str, str], run_dir: Location):
        self.tracker, self.parent_id, self.tags, self.run_dir = tracker, parent_id, tags, run_dir
        self.open: dict[str, tuple[str, set[int]]] = {}
        """Tune trial id -> (MLflow run id, steps whose best_so_far is logged)."""

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.open[trial.trial_id] = (self.tracker.open_trial(self.parent_id, trial_run(_cell_of(trial), self.tags)),
                                     set())

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if trial.trial_id not in self.open:
            return
        run_id, logged = self.open[trial.trial_id]
        step = int(result.get("calls", 0))
        if step in logged:
            return
        first = not logged
        logged.add(step)
        self.tracker.log_progress(run_id, step, float(result.get("best_so_far", float("nan"))),
                                  result.get("direction") if first else None)

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        self.open.pop(trial.trial_id, None)  # the retry opens a new run, replacing this one

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._close(trial, error=None)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._close(trial, error=_error_text(trial))

    def _close(self, trial, error: str | None) -> None:
        cell = _cell_of(trial)
        trial_dir = self.run_dir / TRIALS_DIR / cell.cell_id
        result = _read_or_reconstruct(cell, trial_dir, error)
        if trial.trial_id in self.open:
            run_id, logged = self.open.pop(trial.trial_id)
            self.tracker.close_trial(run_id, result, trial_dir, logged)
        else:
            self.tracker.log_trial(self.parent_id, trial_run(cell, self.tags), result, trial_dir)


def _error_text(trial) -> str:
    """Ray Tune's record of a trial's failure (the local error file, written before callbacks run)."""
    path = Path(trial.error_file) if trial.error_file else None
    text = path.read_text() if path is not None and path.is_file() else str(trial.get_error() or "")
    return text.strip() or "trial failed without an error message"


def _read_or_reconstruct(cell: Cell, trial_dir: Location, error: str | None) -> TrialResult:
    """The trial's result.json; if its process died before writing one, a failed result saying so."""
    if (trial_dir / RESULT_FILE).is_file():
        result = TrialResult.read(trial_dir)
        if result.status != "running":
            return result
    result = TrialResult(
        cell_id=cell.cell_id, method=cell.method_label, task=cell.task, problem=cell.problem, seed=cell.seed,
        status="failed", budget=cell.budget,
        error="trial process died without a result: " + _first_line(error or "no error recorded"),
        traceback=error,
    )
    result.write(trial_dir)
    return result


def _first_line(text: str) -> str:
    """The first line of an error text that says something (Tune prefixes a 'Failure # n' header)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Failure #")]
    return lines[0][:500] if lines else text.strip()


class _ProgressBar(tune.Callback):
    """A progress bar over all oracle calls of the sweep, with trial counts; one line per failed trial.

    On a terminal the bar is redrawn in place; in a log the bar's text is printed as a line
    when a trial ends and at most every ``LOG_EVERY_S`` seconds otherwise.
    """

    def __init__(self, cells: list[Cell], run_dir: Location):
        self.run_dir = run_dir
        self.calls: dict[str, int] = {}
        self.counts = {"done": 0, "failed": 0}
        self._tty = sys.stderr.isatty()
        self._logged_at = 0.0
        # In a log, tqdm renders into a scratch buffer and _refresh prints whole lines itself.
        self.bar = tqdm(total=sum(c.budget for c in cells), unit="call", desc=f"{len(cells)} trials",
                        file=sys.stderr if self._tty else io.StringIO())

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.calls[trial.trial_id] = int(result.get("calls", 0))
        self._refresh(trials)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.counts["done"] += 1
        self._refresh(trials, trial_ended=True)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.counts["failed"] += 1
        cell = _cell_of(trial)
        result = _read_or_reconstruct(cell, self.run_dir / TRIALS_DIR / cell.cell_id, _error_text(trial))
        self.bar.write(f"failed: {cell.cell_id}: {result.error} (traceback in result.json and MLflow)",
                       file=sys.stderr)
        self._refresh(trials, trial_ended=True)

    def _refresh(self, trials, trial_ended: bool = False) -> None:
        running = sum(1 for t in trials if t.status == "RUNNING")
        self.bar.n = sum(self.calls.values())
        self.bar.set_postfix(running=running, refresh=False, **self.counts)
        if self._tty:
            self.bar.refresh()
        elif trial_ended or time.monotonic() - self._logged_at >= LOG_EVERY_S:
            self._logged_at = time.monotonic()
            print(str(self.bar), file=sys.stderr, flush=True)

    def on_experiment_end(self, trials, **info) -> None:
        self.bar.close()


def _sync(cells: list[Cell], run_dir: Location, tracker: Tracker, parent_id: str, tags: dict[str, str],
          uri: str) -> SweepOutcome:
    """Make sure every cell with a result stored has a finished child run (a driver may have died mid-logging)."""
    outcome = SweepOutcome(run_dir=str(run_dir), parent_run_id=parent_id, tracking_uri=uri)
    children = tracker.child_runs(parent_id)
    for cell in cells:
        trial_dir = run_dir / TRIALS_DIR / cell.cell_id
        if not (trial_dir / RESULT_FILE).is_file():
            continue
        result = _read_or_reconstruct(cell, trial_dir, None)
        _, status = children.get(cell.cell_id, (None, None))
        if status not in ("FINISHED", "FAILED"):  # never logged, or logging was cut off (a killed driver)
            tracker.log_trial(parent_id, trial_run(cell, tags), result, trial_dir)
        (outcome.complete if result.status == "complete" else outcome.failed).append(cell.cell_id)
        if result.status != "complete":
            outcome.errors[cell.cell_id] = result.error or "no error recorded"
    return outcome


def _sweep_params(spec: Spec, cells: list[Cell], skipped: list[SkippedCell]) -> dict[str, str]:
    return {
        "seeds": ",".join(map(str, spec.seeds)),
        "methods": ",".join(m.label for m in spec.methods),
        "tasks": ",".join(t.name for t in spec.tasks),
        "n_cells": str(len(cells)),
        "skipped": "; ".join(f"{s.method_label} x {s.task}: {s.reason}" for s in skipped) or "none",
        "cpu_per_trial": str(spec.cpu),
        "gpu_per_trial": str(spec.gpu),
    }
