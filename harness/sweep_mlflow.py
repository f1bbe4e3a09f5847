"""How a sweep appears in MLflow: the experiment's description, the parent run, each trial's child run.

``harness.tracking`` talks to the tracking store; this module decides what a sweep puts
there: the parent run's params and files (the resolved spec, the prepared artifacts'
quality files), each cell's run name, tags and params, and, once the trials have ended,
a finished child run for every cell with a stored result, since a driver killed mid-sweep
may have left a child run unfinished or never opened.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from crystalbench import __version__
from crystalbench.harness.history import HISTORY_FILE, RESULT_FILE, SPEC_FILE, TRIALS_DIR, TrialResult
from crystalbench.harness.run_state import read_or_reconstruct
from crystalbench.harness.runner import TrialContext, method_artifact_key
from crystalbench.harness.spec import Cell, SkippedCell, Spec
from crystalbench.harness.storage import Location
from crystalbench.harness.store import local_artifact
from crystalbench.harness.tracking import Tracker, TrialRun, run_name


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
        "by that across tasks; `valid_rate`, `structurally_valid_rate`, `compositionally_valid_rate` and "
        "`both_valid_rate` are shares of the proposals; "
        "`final.*` are a task's final metrics (csp26: relaxed energy, success criteria, judges). "
        "Group the runs by the `method` and `task` params to compare methods per task."
    )


def sweep_params(spec: Spec, cells: list[Cell], skipped: list[SkippedCell]) -> dict[str, str]:
    return {
        "seeds": ",".join(map(str, spec.seeds)),
        "methods": ",".join(m.label for m in spec.methods),
        "tasks": ",".join(t.name for t in spec.tasks),
        "n_cells": str(len(cells)),
        "skipped": "; ".join(f"{s.method_label} x {s.task}: {s.reason}" for s in skipped) or "none",
        "cpu_per_trial": str(spec.cpu),
        "gpu_per_trial": str(spec.gpu),
    }


def log_sweep_files(tracker: Tracker, parent_id: str, run_dir: Location, spec: Spec, ctx: TrialContext) -> None:
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


def sync_trials(cells: list[Cell], run_dir: Location, tracker: Tracker, parent_id: str,
                tags: dict[str, str], error: str | None = None) -> dict[str, TrialResult]:
    """Make sure every cell with a result stored has a finished child run; cell id -> that result, in grid order.

    A trial that started but left no final result (its process ended first) is recorded as
    failed: stopped as ``error`` says when the sweep knows why (an interruption), else died.
    """
    results: dict[str, TrialResult] = {}
    children = tracker.child_runs(parent_id)
    for cell in cells:
        trial_dir = run_dir / TRIALS_DIR / cell.cell_id
        if not (trial_dir / RESULT_FILE).is_file() and not (trial_dir / HISTORY_FILE).is_file():
            continue  # never started
        result = read_or_reconstruct(cell, trial_dir, error, died=error is None)
        _, status = children.get(cell.cell_id, (None, None))
        if status not in ("FINISHED", "FAILED"):  # never logged, or logging was cut off (a killed driver)
            tracker.log_trial(parent_id, trial_run(cell, tags), result, trial_dir)
        results[cell.cell_id] = result
    return results
