"""What a run directory holds beyond its trial results: its suite, and trials that never finished.

The suite names a report's default directory (``reports/<suite>/``), so it must be a
safe directory name. Trials with a history but no ``result.json`` (still running, or
killed hard) are left out of the report; :func:`_orphans` finds them so the report can
say how many were skipped.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from crystalbench.harness.errors import UserError
from crystalbench.harness.history import HISTORY_FILE, RESULT_FILE, TRIALS_DIR
from crystalbench.harness.storage import Location, Where, location


def suite_name(run_dir: Where | Location) -> str:
    """The run's suite: the first ``suite`` value in its histories, else ``suite`` in ``spec.yaml``.

    Raises :class:`UserError` when neither has it, or when the name is not a safe
    directory name (it becomes ``reports/<suite>/``).
    """
    run_dir = location(run_dir, "run directory")
    name: str | None = None
    for f in (run_dir / TRIALS_DIR).glob(f"*/{HISTORY_FILE}"):
        try:
            suites = pl.read_parquet(io.BytesIO(f.read_bytes()), columns=["suite"])["suite"].drop_nulls()
        except (pl.exceptions.PolarsError, OSError, ValueError):
            continue  # an unreadable history (the report's reader says so); another trial's, or spec.yaml, names it
        if len(suites):
            name = suites[0]
            break
    if name is None:
        spec = run_dir / "spec.yaml"
        if spec.is_file():
            import yaml

            try:
                data = yaml.safe_load(spec.read_text())
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise UserError(f"{spec} is unreadable ({type(exc).__name__}) and no trial history names the "
                                "suite; give the report an --out directory") from None
            value = data.get("suite") if isinstance(data, dict) else None
            if isinstance(value, dict):  # tolerate ``suite: {name: ...}``
                value = value.get("name")
            if value is not None:
                name = str(value)
    if not name:
        raise UserError(f"cannot tell the suite of {run_dir}: no history rows and no 'suite' in spec.yaml")
    if name in (".", "..") or "/" in name or "\\" in name:
        raise UserError(f"suite name {name!r} of {run_dir} is not a usable directory name")
    return name


def default_report_dir(run_dir: Where | Location, reports_root: Path = Path("reports")) -> Path:
    """``<reports_root>/<suite>/``, the default output directory of a run's report."""
    return Path(reports_root) / suite_name(run_dir)


def _orphans(run_dir: Location, result_ids: set[str]) -> list[str]:
    """Names of the trial directories with a history but neither a ``result.json`` nor a result in ``result_ids``."""
    return sorted(
        d.parent.name
        for d in (run_dir / TRIALS_DIR).glob(f"*/{HISTORY_FILE}")
        if not (d.parent / RESULT_FILE).is_file() and d.parent.name not in result_ids
    )
