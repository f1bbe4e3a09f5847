"""One trial: the ask/tell loop of a method on a problem, with the budget kept by the harness.

``run_cell`` is what every Ray Tune trial executes. It writes the history
(one row per oracle call) and the result summary under
``<run_dir>/trials/<cell_id>/`` (a path or an object-store URI); partial histories are flushed while it runs
and kept when it fails, and a failure is recorded with its traceback before the
exception is re-raised for Ray Tune to count.
"""

from __future__ import annotations

import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import ray
from pymatgen.core import Structure

from crystalbench.api import Exhausted, FinalResult, registry
from crystalbench.harness.crystal import to_cif
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.history import TRIALS_DIR, TrialResult, write_history
from crystalbench.harness.oracle import BudgetedOracle
from crystalbench.harness.seeding import name_entropy
from crystalbench.harness.spec import Cell
from crystalbench.harness.storage import Location, location
from crystalbench.harness.store import local_artifact

FLUSH_SECONDS = 5.0
REPORT_SECONDS = 1.0


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a sweep shares: where to write, and the prepared artifacts.

    Artifacts are named as ``ArtifactStore.where`` names them (a path, or a URI a trial on
    any node downloads to its cache with ``local_artifact``).
    """

    suite: str
    run_dir: str
    """A path or an object-store URI."""
    dataset_path: str
    task_artifacts: dict[str, str]
    """Task name -> prepared artifact directory."""
    method_artifacts: dict[str, str | None] = field(default_factory=dict)
    """``method_artifact_key(label, task)`` -> prepared artifact directory (None: the method needs none)."""
    plugins: tuple[str, ...] = ()

    def trial_dir(self, cell: Cell) -> Location:
        return location(self.run_dir, "run directory") / TRIALS_DIR / cell.cell_id


def method_artifact_key(label: str, task: str) -> str:
    return f"{label}|{task}"


def trial_rng(cell: Cell) -> np.random.Generator:
    """The trial's generator, derived from (seed, method label, task, problem) only."""
    words = (cell.method_label, cell.task, cell.problem)
    entropy = [cell.seed] + [name_entropy(w) for w in words]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def run_cell(cell: Cell, ctx: TrialContext, report: Callable[[dict], None] | None = None) -> TrialResult:
    """Run one trial to its budget; returns the result, or records the failure and re-raises."""
    registry.load(list(ctx.plugins))
    trial_dir = ctx.trial_dir(cell)
    result = TrialResult(
        cell_id=cell.cell_id,
        method=cell.method_label,
        task=cell.task,
        problem=cell.problem,
        seed=cell.seed,
        status="running",
        budget=cell.budget,
    )
    rows: list[dict] = []
    start = time.perf_counter()
    try:
        _loop(cell, ctx, result, rows, trial_dir, report)
    except BaseException as exc:
        result.status = "failed"
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):  # the sweep was stopped (Ctrl-C, Ray shutting down)
            result.error = f"interrupted after {len(rows)} oracle calls ({type(exc).__name__}); --resume re-runs it"
        else:
            result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        result.traceback = traceback.format_exc()
        _finish(result, rows, trial_dir, start)
        raise
    result.status = "complete"
    _finish(result, rows, trial_dir, start)
    if report is not None:
        report({"calls": result.n_calls, "best_so_far": result.final_best, "done": True})
    return result


def _loop(
    cell: Cell,
    ctx: TrialContext,
    result: TrialResult,
    rows: list[dict],
    trial_dir: Location,
    report: Callable[[dict], None] | None,
) -> None:
    dataset = Dataset.load(local_artifact(ctx.dataset_path))
    task = registry.get_task(cell.task)(**cell.task_params)
    problem = task.load_problem(cell.problem, dataset, local_artifact(ctx.task_artifacts[cell.task]), seed=cell.seed)
    result.direction = problem.direction
    result.initial_best = problem.best(problem.initial_values)
    result.extra = {"problem_info": problem.info, "invalid_penalty": problem.invalid_penalty, "node": _node()}

    method = registry.get_method(cell.method)(**cell.method_params)
    artifact = ctx.method_artifacts.get(method_artifact_key(cell.method_label, cell.task))
    method.setup(problem.view(), local_artifact(artifact) if artifact else None, trial_rng(cell))

    oracle = BudgetedOracle(problem.oracle, cell.budget, problem.invalid_penalty)
    if report is not None:  # the trial has started: the tracker learns its direction before the first call
        report({"calls": 0, "best_so_far": float("nan"), "direction": problem.direction, "done": False})
    best = np.nan
    final_structure, final_value = None, np.nan  # the best valid proposal: what the method found
    batch = 0
    last_flush = last_report = time.perf_counter()
    while oracle.remaining > 0:
        batch += 1
        n = min(cell.batch_size, oracle.remaining)
        t0 = time.perf_counter()
        try:
            asked = method.ask(n)
        except Exhausted as exc:
            result.extra["exhausted"] = str(exc)
            break
        candidates = _checked(asked, n, cell.method)
        t_ask = time.perf_counter() - t0
        evaluation = oracle(candidates)
        t0 = time.perf_counter()
        method.tell(candidates, evaluation.scores)
        method_time = (t_ask + time.perf_counter() - t0) / len(candidates)
        for i, structure in enumerate(candidates):
            score = float(evaluation.scores[i])
            best = score if np.isnan(best) or problem.better(score, best) else best
            if evaluation.valid[i] and (np.isnan(final_value) or problem.better(score, final_value)):
                final_structure, final_value = structure, score
            rows.append(
                {
                    "suite": ctx.suite,
                    "cell_id": cell.cell_id,
                    "method": cell.method_label,
                    "task": cell.task,
                    "problem": cell.problem,
                    "seed": cell.seed,
                    "step": len(rows) + 1,
                    "batch": batch,
                    "value": float(evaluation.values[i]),
                    "score": score,
                    "valid": bool(evaluation.valid[i]),
                    "structurally_valid": bool(evaluation.structurally_valid[i]),
                    "compositionally_valid": bool(evaluation.compositionally_valid[i]),
                    "best_so_far": best,
                    "method_time_s": method_time,
                    "oracle_time_s": evaluation.seconds / len(candidates),
                    "cif": to_cif(structure) if evaluation.valid[i] else None,
                }
            )
        result.n_calls = oracle.calls
        result.final_best = best
        now = time.perf_counter()
        if now - last_flush > FLUSH_SECONDS:
            write_history(trial_dir, rows)
            last_flush = now
        if report is not None and now - last_report > REPORT_SECONDS:
            report({"calls": oracle.calls, "best_so_far": best, "done": False})
            last_report = now
    if trace := method.trace():
        result.extra["trace"] = trace
    if problem.finalize is not None:
        if final_structure is None:  # no valid proposal at all: the method leaves its start where it was
            final_structure = problem.initial_structures[problem.rank(problem.initial_values)[0]]
            result.extra["final_is_start"] = True
        write_history(trial_dir, rows)
        t0 = time.perf_counter()
        final = problem.finalize(final_structure)
        if not isinstance(final, FinalResult):
            raise TypeError(f"{problem.task}/{problem.name}: finalize must return a FinalResult, got {type(final)}")
        result.extra["final"] = final.to_json()
        result.extra["final_seconds"] = time.perf_counter() - t0


def _node() -> str:
    """The Ray node this trial runs on (its id), or the host name outside Ray."""
    if ray.is_initialized():
        return ray.get_runtime_context().get_node_id()
    return socket.gethostname()


def _checked(candidates: object, n: int, method: str) -> list[Structure | None]:
    """What ``ask`` returned, if it is a list of 1..n Structures or Nones; a clear error otherwise."""
    if not isinstance(candidates, list):
        raise TypeError(f"{method}.ask must return a list, got {type(candidates).__name__}")
    if not 1 <= len(candidates) <= n:
        raise ValueError(f"{method}.ask({n}) returned {len(candidates)} candidates, expected 1 to {n}")
    bad = next((c for c in candidates if c is not None and not isinstance(c, Structure)), None)
    if bad is not None:
        raise TypeError(f"{method}.ask returned a {type(bad).__name__}, expected pymatgen Structure or None")
    return candidates


def _finish(result: TrialResult, rows: list[dict], trial_dir: Location, start: float) -> None:
    result.wall_time_s = time.perf_counter() - start
    write_history(trial_dir, rows)
    result.write(trial_dir)
