"""Where a sweep stands, as its run directory records it: the sweep's state and each cell's result.

``sweep.json`` ties the run directory to one spec (by hash) and one MLflow parent run,
so a resumed sweep refuses another spec and logs under the same parent. A cell is done
when its ``result.json`` says complete; a trial whose process died before writing a
final result gets a failed one written in its place, so every ended trial has a result.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import yaml

from crystalbench.harness.errors import UserError
from crystalbench.harness.final_metrics import judgements
from crystalbench.harness.history import RESULT_FILE, SPEC_FILE, SWEEP_FILE, TRIALS_DIR, TrialResult, read_results
from crystalbench.harness.spec import Cell, Spec
from crystalbench.harness.storage import Location


def open_run_dir(spec: Spec, run_dir: Location, resume: bool) -> dict:
    """Check the run directory against ``resume``; write the spec; return the saved sweep state."""
    state_file = run_dir / SWEEP_FILE
    if state_file.is_file():
        state = json.loads(state_file.read_text())
        if not resume:
            raise UserError(f"run directory {run_dir} already holds a sweep; use --resume or another run_dir")
        if state.get("spec_hash") != spec.spec_hash:
            raise UserError(f"cannot resume {run_dir}: it was run from a different spec (hash {state['spec_hash'][:12]})")
        for result in read_results(run_dir):
            judgements(result)  # a final result in an older layout: refused now, not after the trials
        return state
    (run_dir / SPEC_FILE).write_text(yaml.safe_dump(_spec_record(spec), sort_keys=False))
    state = {"suite": spec.suite, "spec_hash": spec.spec_hash, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_state(run_dir, state)
    return state


def write_state(run_dir: Location, state: dict) -> None:
    (run_dir / SWEEP_FILE).write_text(json.dumps(state, indent=2))


def _spec_record(spec: Spec) -> dict:
    record = asdict(spec)
    record["spec_hash"] = spec.spec_hash
    return json.loads(json.dumps(record))


def is_complete(run_dir: Location, cell: Cell) -> bool:
    path = run_dir / TRIALS_DIR / cell.cell_id / RESULT_FILE
    return path.is_file() and json.loads(path.read_text()).get("status") == "complete"


def read_or_reconstruct(cell: Cell, trial_dir: Location, error: str | None) -> TrialResult:
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
