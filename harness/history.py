"""The per-trial record: one history row per oracle call, and the trial's result summary.

Layout of a run directory::

    <run_dir>/spec.yaml                    the resolved spec
    <run_dir>/sweep.json                   spec hash, MLflow parent run id, tracking URI
    <run_dir>/trials/<cell_id>/history.parquet   HISTORY_SCHEMA, one row per oracle call
    <run_dir>/trials/<cell_id>/result.json       TrialResult (status, error, traceback, summary)

``run_dir`` is a local path or an object-store URI (``harness.storage``); every
read and write here goes through ``Location``. A file that cannot be read (truncated by a
full disk, edited by hand) is an ``UnreadableRunFile`` naming it; the readers of a whole run
directory skip such a trial and say so on the console (a warning of this module's logger),
since ``crystalbench run --resume`` runs its cell again.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import asdict, dataclass, field

import polars as pl

from crystalbench.harness.crystal import from_cif, is_compositionally_valid, is_structurally_plausible
from crystalbench.harness.errors import UserError
from crystalbench.harness.storage import Location, Where, location

log = logging.getLogger(__name__)

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
    "structurally_valid": pl.Boolean,  # valid + min distance >= 0.5 Å + >= 0.1 Å³ per atom
    "compositionally_valid": pl.Boolean,  # valid + SMACT charge neutrality and electronegativity
    "best_so_far": pl.Float64,  # best score over steps 1..step
    "method_time_s": pl.Float64,  # ask + tell time of its batch, divided by the batch size
    "oracle_time_s": pl.Float64,  # oracle time of its batch, divided by the batch size
    "cif": pl.String,  # null when the method proposed None
}

SPEC_FILE = "spec.yaml"
SWEEP_FILE = "sweep.json"
TRIALS_DIR = "trials"
HISTORY_FILE = "history.parquet"
RESULT_FILE = "result.json"
RESUME_HINT = "`crystalbench run SPEC --resume` runs its cell again"


class UnreadableRunFile(UserError):
    """A run directory's file that exists but does not parse: one line naming it and why."""

    def __init__(self, path: Location, exc: Exception):
        reason = " ".join(str(exc).split()) or "no message"
        self.path = path
        super().__init__(f"{path} is unreadable ({type(exc).__name__}: {reason[:200]})")


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

    def write(self, trial_dir: Where | Location) -> None:
        (location(trial_dir) / RESULT_FILE).write_text(json.dumps(asdict(self), indent=2, allow_nan=True))

    @classmethod
    def read(cls, trial_dir: Where | Location) -> TrialResult:
        """The trial's ``result.json``; an ``UnreadableRunFile`` when it is not one (truncated, not JSON)."""
        path = location(trial_dir) / RESULT_FILE
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:  # bad JSON or UTF-8 (ValueErrors); not a mapping of our fields
            raise UnreadableRunFile(path, exc) from None


def history_frame(rows: list[dict]) -> pl.DataFrame:
    """Rows (dicts with HISTORY_SCHEMA keys) as a typed frame."""
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row") if rows else pl.DataFrame(schema=HISTORY_SCHEMA)


def write_history(trial_dir: Where | Location, rows: list[dict]) -> None:
    """Write the history as one whole file (``Location.write_bytes``), so readers never see half a file."""
    buffer = io.BytesIO()
    history_frame(rows).write_parquet(buffer)
    (location(trial_dir) / HISTORY_FILE).write_bytes(buffer.getvalue())


def atomic_write_text(path: Where, text: str) -> None:
    """Write a UTF-8 text file whole (a temporary file renamed into place when local)."""
    location(path).write_text(text)


def read_history(trial_dir: Where | Location) -> pl.DataFrame | None:
    """One trial's history rows (None if it has no history file; ``UnreadableRunFile`` if it does not parse)."""
    path = location(trial_dir) / HISTORY_FILE
    return _read_parquet(path) if path.is_file() else None


def read_histories(run_dir: Where | Location) -> pl.DataFrame:
    """All trials' history rows of a run directory, concatenated (empty frame if none); unreadable ones skipped."""
    frames = [frame for f in (location(run_dir) / TRIALS_DIR).glob(f"*/{HISTORY_FILE}")
              if (frame := _skipping(_read_parquet, f)) is not None]
    return pl.concat(frames) if frames else pl.DataFrame(schema=HISTORY_SCHEMA)


def upgraded(history: pl.DataFrame) -> pl.DataFrame:
    """A history in today's columns: one written before the validity split (a ``physically_valid`` column)
    gets ``structurally_valid`` and ``compositionally_valid`` computed from its CIFs, in the schema's order."""
    if "physically_valid" not in history.columns:
        return history
    structures = [from_cif(cif) if valid else None for cif, valid in zip(history["cif"], history["valid"])]
    return history.with_columns(
        pl.Series("structurally_valid", [s is not None and is_structurally_plausible(s) for s in structures]),
        pl.Series("compositionally_valid", [s is not None and is_compositionally_valid(s) for s in structures]),
    ).select(list(HISTORY_SCHEMA))


def read_results(run_dir: Where | Location, warn: bool = True) -> list[TrialResult]:
    """All trials' results of a run directory, sorted by cell id; unreadable ones skipped, saying so if ``warn``."""
    files = (location(run_dir) / TRIALS_DIR).glob(f"*/{RESULT_FILE}")
    results = [_skipping(TrialResult.read, f.parent, warn) for f in files]
    return [r for r in results if r is not None]


def _read_parquet(path: Location) -> pl.DataFrame:
    try:
        return upgraded(pl.read_parquet(io.BytesIO(path.read_bytes())))
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise UnreadableRunFile(path, exc) from None


def _skipping(read, where: Location, warn: bool = True):
    """``read(where)``, or None (after a warning line, if ``warn``) when the file is unreadable."""
    try:
        return read(where)
    except UnreadableRunFile as exc:
        if warn:
            log.warning(f"skipped: {exc}; {RESUME_HINT}")
        return None
