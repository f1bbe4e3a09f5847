"""Where a sweep stands, as its run directory records it: the sweep's state and each cell's result.

``sweep.json`` ties the run directory to one spec (by hash) and one MLflow parent run,
so a resumed sweep refuses another spec and logs under the same parent. A cell is done
when its ``result.json`` says complete; a trial whose process died before writing a
final result gets a failed one written in its place, so every ended trial has a result.
A run directory without any trial protects nothing, so another spec may start there (a
sweep that failed early, corrected); files that do not parse are named in one line, and a
cell whose files are unreadable runs again.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import yaml

from crystalbench.harness.console import say
from crystalbench.harness.errors import UserError
from crystalbench.harness.final_metrics import judgements
from crystalbench.harness.history import (
    HISTORY_FILE,
    RESULT_FILE,
    SPEC_FILE,
    SWEEP_FILE,
    TRIALS_DIR,
    TrialResult,
    UnreadableRunFile,
    read_history,
    read_results,
)
from crystalbench.harness.spec import Cell, Spec
from crystalbench.harness.storage import Location


def check_run_dir(spec: Spec, run_dir: Location, resume: bool) -> None:
    """The refusals of ``open_run_dir``, writing nothing: what a driver checks before it starts Ray."""
    if not has_trials(run_dir):
        return
    if not resume:
        raise UserError(f"run directory {run_dir} already holds a sweep; use --resume or another run_dir")
    try:
        spec_hash = read_state(run_dir)["spec_hash"]
    except UserError as exc:
        spec_hash = _recorded_hash(run_dir, exc)
    if spec_hash != spec.spec_hash:
        raise UserError(f"cannot resume {run_dir}: it was run from a different spec (hash {spec_hash[:12]})")
    for result in read_results(run_dir, warn=False):  # an unreadable one runs again, as is_complete says
        judgements(result)  # a final result in an older layout: refused now, not after the trials


def open_run_dir(spec: Spec, run_dir: Location, resume: bool) -> dict:
    """Check the run directory against ``spec`` and ``resume`` (``check_run_dir``); write the spec; return the state.

    A directory whose sweep stopped before any trial (a bad dataset, an unreachable server)
    holds no result to protect, so any spec may start in it, with or without ``resume``: a
    corrected spec needs nothing deleted by hand. The state of such a directory's earlier
    spec, if it had an MLflow parent run, names it as ``abandoned_parent_run_id`` for the
    sweep to end. A ``sweep.json`` that is missing or unreadable beside trials is rebuilt from
    ``spec.yaml``, which names the same spec.
    """
    check_run_dir(spec, run_dir, resume)
    if not has_trials(run_dir):
        previous = _state_or_none(run_dir)
        if previous is not None and previous.get("spec_hash") == spec.spec_hash:
            return previous
        if (run_dir / SWEEP_FILE).is_file():
            say(f"run directory {run_dir} holds a sweep that stopped before any trial: starting this spec there")
        return _start(spec, run_dir, previous)
    try:
        return read_state(run_dir)
    except UserError as exc:
        state = {"suite": spec.suite, "spec_hash": spec.spec_hash, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "rebuilt": True}
        say(f"{exc}: rebuilt from {run_dir / SPEC_FILE} (the MLflow parent run is looked up by its tags)")
        write_state(run_dir, state)
        return state


def read_state(run_dir: Location) -> dict:
    """``sweep.json``: a one-line ``UserError`` naming it when it is missing, unreadable or has no spec hash."""
    state = _read_json(run_dir / SWEEP_FILE)
    if not isinstance(state.get("spec_hash"), str):
        raise UserError(f"{run_dir / SWEEP_FILE} is unreadable (no spec_hash in it)")
    return state


def check_readable(run_dir: Location) -> None:
    """A one-line ``UserError`` naming ``sweep.json`` or ``spec.yaml`` when either exists but does not parse."""
    if (run_dir / SWEEP_FILE).is_file():
        _read_json(run_dir / SWEEP_FILE)
    path = run_dir / SPEC_FILE
    if path.is_file():
        try:
            record = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, ValueError) as exc:
            raise UnreadableRunFile(path, exc) from None
        if not isinstance(record, dict):
            raise UserError(f"{path} is unreadable (not a spec record)")


def _read_json(path: Location) -> dict:
    if not path.is_file():
        raise UserError(f"{path} is missing")
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:  # bad JSON or bad UTF-8
        raise UnreadableRunFile(path, exc) from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is unreadable (not a JSON object)")
    return data


def _recorded_hash(run_dir: Location, problem: UserError) -> str:
    """The spec hash ``spec.yaml`` records, for a run directory whose ``sweep.json`` is missing or unreadable."""
    spec_file = run_dir / SPEC_FILE
    try:
        recorded = yaml.safe_load(spec_file.read_text()) if spec_file.is_file() else None
    except (yaml.YAMLError, ValueError):
        recorded = None
    spec_hash = recorded.get("spec_hash") if isinstance(recorded, dict) else None
    if not isinstance(spec_hash, str):
        raise UserError(f"cannot resume {run_dir}: {problem}, and {spec_file} does not say which spec ran here; "
                        "run this spec in another run_dir") from None
    return spec_hash


def has_trials(run_dir: Location) -> bool:
    """Whether any trial has started here (it wrote a history or a result)."""
    trials = run_dir / TRIALS_DIR
    return bool(trials.glob(f"*/{RESULT_FILE}") or trials.glob(f"*/{HISTORY_FILE}"))


def _state_or_none(run_dir: Location) -> dict | None:
    try:
        return read_state(run_dir)
    except UserError:
        return None


def _start(spec: Spec, run_dir: Location, previous: dict | None) -> dict:
    (run_dir / SPEC_FILE).write_text(yaml.safe_dump(_spec_record(spec), sort_keys=False))
    state = {"suite": spec.suite, "spec_hash": spec.spec_hash, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if previous is not None and previous.get("parent_run_id"):
        state |= {"abandoned_parent_run_id": previous["parent_run_id"], "tracking_uri": previous.get("tracking_uri")}
    write_state(run_dir, state)
    return state


def write_state(run_dir: Location, state: dict) -> None:
    (run_dir / SWEEP_FILE).write_text(json.dumps(state, indent=2))


def _spec_record(spec: Spec) -> dict:
    record = asdict(spec)
    record["spec_hash"] = spec.spec_hash
    return json.loads(json.dumps(record))


def is_complete(run_dir: Location, cell: Cell) -> bool:
    """Whether the cell's ``result.json`` says complete and its files read; an unreadable one runs again, saying so."""
    trial_dir = run_dir / TRIALS_DIR / cell.cell_id
    if not (trial_dir / RESULT_FILE).is_file():
        return False
    try:
        if TrialResult.read(trial_dir).status != "complete":
            return False
        read_history(trial_dir)
    except UnreadableRunFile as exc:
        say(f"{exc}: its cell runs again")
        return False
    return True


def read_or_reconstruct(cell: Cell, trial_dir: Location, error: str | None, died: bool = True) -> TrialResult:
    """The trial's result.json; if its process ended before writing one, a failed result saying why.

    ``error`` is what the sweep knows of the end (Tune's error file, an interruption);
    ``died``: the process died (else it was stopped, as ``error`` says). The result counts
    the oracle calls of the history the trial left, which stays on disk.
    """
    if (trial_dir / RESULT_FILE).is_file():
        try:
            result = TrialResult.read(trial_dir)
        except UnreadableRunFile as exc:
            error = f"{exc}\n{error or ''}"
        else:
            if result.status != "running":
                return result
    reason = _first_line(error or "no error recorded")
    result = TrialResult(
        cell_id=cell.cell_id, method=cell.method_label, task=cell.task, problem=cell.problem, seed=cell.seed,
        status="failed", budget=cell.budget, n_calls=_calls(trial_dir),
        error=f"trial process died without a result: {reason}" if died else reason,
        traceback=error,
    )
    result.write(trial_dir)
    return result


def _calls(trial_dir: Location) -> int:
    """Oracle calls in the trial's history (0 without a readable one)."""
    try:
        history = read_history(trial_dir)
    except UnreadableRunFile:
        return 0
    return 0 if history is None else history.height


def _first_line(text: str) -> str:
    """The first line of an error text that says something (Tune prefixes a 'Failure # n' header)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("Failure #")]
    return lines[0][:500] if lines else text.strip()
