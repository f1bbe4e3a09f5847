"""Aggregate a run directory into a leaderboard and best-so-far curves.

``write_report(run_dir, out_dir)`` reads every trial's ``result.json`` and
``history.parquet`` (layout in :mod:`harness.history`) and writes:

``leaderboard.parquet``
    One row per (task, problem, method); columns in :data:`LEADERBOARD_SCHEMA`.
``leaderboard.md`` / ``leaderboard.html``
    The same table, readable: one section per task, failed trials (first line of
    their error) listed under it. The HTML page is standalone (inline CSS only).
``final.md`` / ``final.parquet``
    Only when some problem adds final metrics (csp26): see :mod:`harness.final_metrics`.
``verified.md`` / ``verified.parquet`` / ``verified_scatter.png``
    Only when a judge scored the trials' best proposals (the fidelity ladder of the
    property tasks): see :mod:`.verified`.
``curves.png``
    Best-so-far against oracle calls, mean ± s.e. over seeds (shaded), one panel
    per (task, problem), one line per method, dashed line at the initial best.

One concept per module: :mod:`.discovery` (the run's suite, unfinished trials),
:mod:`.aggregate` (the statistics and the choices behind them), :mod:`.render`
(Markdown and HTML) and :mod:`.plot` (the curves figure). This module only runs
them in order and writes the files. Trial directories with a history but no
``result.json`` (a trial still running, or killed hard) are skipped and counted in
a note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from crystalbench.harness.errors import UserError
from crystalbench.harness.final_metrics import write_final_report
from crystalbench.harness.history import read_histories, read_results
from crystalbench.harness.report.aggregate import (
    LEADERBOARD_SCHEMA,
    TOP_DECIMALS,
    TOP_K,
    _curves,
    _leaderboard,
    _results_frame,
)
from crystalbench.harness.report.discovery import _orphans, default_report_dir, suite_name
from crystalbench.harness.report.plot import MAX_PANELS, _plot_curves
from crystalbench.harness.report.render import _html, _markdown, _sections
from crystalbench.harness.report.verified import write_verified_report
from crystalbench.harness.storage import Location, Where, location

__all__ = [
    "LEADERBOARD_SCHEMA",
    "MAX_PANELS",
    "TOP_DECIMALS",
    "TOP_K",
    "ReportPaths",
    "default_report_dir",
    "suite_name",
    "write_report",
]


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` wrote its files."""

    out_dir: Path
    leaderboard_parquet: Path
    leaderboard_md: Path
    leaderboard_html: Path
    curves_png: Path
    final_md: Path | None = None
    """Final-metrics tables (csp26's check marks and timings), when any trial has final metrics."""
    verified_md: Path | None = None
    """The verified leaderboard, when a judge scored the trials' best proposals."""


def _write_text(path: Path, text: str) -> None:
    """Atomic UTF-8 write (the report has non-ASCII characters; don't depend on the locale)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(run_dir: Where | Location, out_dir: Path) -> ReportPaths:
    """Aggregate ``run_dir``'s trials into ``out_dir`` (created); return the written paths.

    Raises :class:`UserError` when ``run_dir`` holds no trial results at all. A run
    with results but no complete trial still gets every file (empty statistics).
    """
    run_dir, out_dir = location(run_dir, "run directory"), Path(out_dir)
    results = read_results(run_dir)
    if not results:
        raise UserError(f"no trial results under {run_dir}")
    res = _results_frame(results)

    hist_all = read_histories(run_dir)
    complete_ids = res.filter(pl.col("status") == "complete").select("cell_id")
    hist = hist_all.join(complete_ids, on="cell_id", how="semi")
    orphans = _orphans(run_dir, set(res["cell_id"].to_list()))

    board = _leaderboard(res, hist)
    curves = _curves(hist)

    try:
        suite = suite_name(run_dir)
    except UserError:
        suite = run_dir.name
    title = f"crystalbench report: {suite}"
    n_complete = complete_ids.height
    n_failed = res.height - n_complete
    summary = [
        f"Run directory: {run_dir}",
        f"Trials: {n_complete} complete, {n_failed} failed; {board.height} (task, problem, method) cells.",
    ]
    if n_complete == 0:
        summary.append("No complete trials in this run: the leaderboard has no statistics.")
    if orphans:
        summary.append(f"Skipped {len(orphans)} trial(s) with a history but no result.json (running or killed).")
    sections = _sections(board, res)

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        out_dir=out_dir,
        leaderboard_parquet=out_dir / "leaderboard.parquet",
        leaderboard_md=out_dir / "leaderboard.md",
        leaderboard_html=out_dir / "leaderboard.html",
        curves_png=out_dir / "curves.png",
        final_md=write_final_report(results, out_dir),
        verified_md=write_verified_report(results, board, out_dir),
    )
    board.write_parquet(paths.leaderboard_parquet)
    _write_text(paths.leaderboard_md, _markdown(title, summary, sections))
    _write_text(paths.leaderboard_html, _html(title, summary, sections))
    _plot_curves(curves, board, paths.curves_png, title)
    return paths
