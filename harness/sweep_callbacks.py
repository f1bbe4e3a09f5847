"""The Ray Tune callbacks of a sweep, run in the driver: MLflow child runs and the console progress bar.

Both read a trial's outcome from its ``result.json`` in the run directory, the record a
trial writes itself; where the trial's process died before writing it, a failed result
built from Tune's error file takes its place (``harness.run_state``).
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from ray import tune
from tqdm import tqdm

from crystalbench.harness.console import LOG_EVERY_S
from crystalbench.harness.history import TRIALS_DIR
from crystalbench.harness.run_state import read_or_reconstruct
from crystalbench.harness.spec import Cell
from crystalbench.harness.storage import Location
from crystalbench.harness.sweep_mlflow import trial_run
from crystalbench.harness.tracking import Tracker
from crystalbench.harness.trials import cell_of


class TrackTrials(tune.Callback):
    """Each trial's MLflow child run: opened when the trial starts, fed while it runs, closed when it ends."""

    def __init__(self, tracker: Tracker, parent_id: str, tags: dict[str, str], run_dir: Location):
        self.tracker, self.parent_id, self.tags, self.run_dir = tracker, parent_id, tags, run_dir
        self.open: dict[str, tuple[str, set[int]]] = {}
        """Tune trial id -> (MLflow run id, steps whose best_so_far is logged)."""

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.open[trial.trial_id] = (self.tracker.open_trial(self.parent_id, trial_run(cell_of(trial), self.tags)),
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
        cell = cell_of(trial)
        trial_dir = self.run_dir / TRIALS_DIR / cell.cell_id
        result = read_or_reconstruct(cell, trial_dir, error)
        if trial.trial_id in self.open:
            run_id, logged = self.open.pop(trial.trial_id)
            self.tracker.close_trial(run_id, result, trial_dir, logged)
        else:
            self.tracker.log_trial(self.parent_id, trial_run(cell, self.tags), result, trial_dir)


class ProgressBar(tune.Callback):
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
        cell = cell_of(trial)
        result = read_or_reconstruct(cell, self.run_dir / TRIALS_DIR / cell.cell_id, _error_text(trial))
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


def _error_text(trial) -> str:
    """Ray Tune's record of a trial's failure (the local error file, written before callbacks run)."""
    path = Path(trial.error_file) if trial.error_file else None
    text = path.read_text() if path is not None and path.is_file() else str(trial.get_error() or "")
    return text.strip() or "trial failed without an error message"
