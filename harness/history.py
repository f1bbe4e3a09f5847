"""The per-trial record: one history row per oracle call, and the trial's result summary.

Layout of a run directory::

    <run_dir>/spec.yaml                    the resolved spec
    <run_dir>/sweep.json                   spec hash, MLflow parent run id, tracking URI
    <run_dir>/trials/<cell_id>/history.parquet   HISTORY_SCHEMA, one row per oracle call
    <run_dir>/trials/<cell_id>/result.json       TrialResult (status, error, traceback, summary)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

HISTORY_SCHEMA = {
    "suite": pl.String,
    "cell_id": pl.String,
    "method": pl.String,
    "task": pl.String,
    "problem": pl.String,
    "seed": pl.Int64,
    "step": pl.Int64,  # 1-based index of the oracle call
    "batch": pl.Int64,  # 1-based index of the ask() that proposed it
    "value": pl.Float64,  # raw oracle value; NaN when the proposal was invalid
    "score": pl.Float64,  # value, or the task's invalid penalty
    "valid": pl.Boolean,  # CIF round trip (the papers' validity)
    "physically_valid": pl.Boolean,  # valid + min distance >= 0.5 Å + charge-neutral guess
    "best_so_far": pl.Float64,  # best score over steps 1..step
    "method_time_s": pl.Float64,  # ask + tell time of its batch, divided by the batch size
    "oracle_time_s": pl.Float64,  # oracle time of its batch, divided by the batch size
    "cif": pl.String,  # null when the method proposed None
}

TRIALS_DIR = "trials"
HISTORY_FILE = "history.parquet"
RESULT_FILE = "result.json"


@dataclass
class TrialResult:
    """What a trial ended with. ``status`` is "complete" or "failed"."""

    cell_id: str
    method: str
    task: str
    problem: str
    seed: int
    status: str
    budget: int
    n_calls: int = 0
    direction: str = "min"
    initial_best: float | None = None
    final_best: float | None = None
    wall_time_s: float = 0.0
    error: str | None = None
    traceback: str | None = None
    mlflow_run_id: str | None = None
    extra: dict = field(default_factory=dict)

    def write(self, trial_dir: Path) -> None:
        atomic_write_text(trial_dir / RESULT_FILE, json.dumps(asdict(self), indent=2, allow_nan=True))

    @classmethod
    def read(cls, trial_dir: Path) -> "TrialResult":
        return cls(**json.loads((trial_dir / RESULT_FILE).read_text(encoding="utf-8")))


def history_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with HISTORY_SCHEMA keys) as a typed frame."""
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row") if rows else pl.DataFrame(schema=HISTORY_SCHEMA)


def write_history(trial_dir: Path, rows: list[dict]) -> None:
    """Write the history atomically (temporary file, then rename), so readers never see half a file."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    tmp = trial_dir / f".{HISTORY_FILE}.tmp"
    history_frame(rows).write_parquet(tmp)
    os.replace(tmp, trial_dir / HISTORY_FILE)


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_histories(run_dir: Path) -> pl.DataFrame:
    """All trials' history rows of a run directory, concatenated (empty frame if none)."""
    files = sorted((Path(run_dir) / TRIALS_DIR).glob(f"*/{HISTORY_FILE}"))
    if not files:
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    return pl.concat([pl.read_parquet(f) for f in files])


def read_results(run_dir: Path) -> list[TrialResult]:
    """All trials' results of a run directory, sorted by cell id."""
    return [TrialResult.read(d.parent) for d in sorted((Path(run_dir) / TRIALS_DIR).glob(f"*/{RESULT_FILE}"))]
