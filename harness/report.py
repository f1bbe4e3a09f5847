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
``curves.png``
    Best-so-far against oracle calls, mean ± s.e. over seeds (shaded), one panel
    per (task, problem), one line per method, dashed line at the initial best.

Choices worth knowing:

* Only **complete** trials enter the statistics and the curves; failed ones are
  counted in ``n_failed`` and listed with their error. Any status other than
  ``"complete"`` counts as failed. Trial directories with a history but no
  ``result.json`` (a trial still running, or killed hard) are skipped and counted
  in a note.
* A trial's final best is the ``best_so_far`` of its last history row (so the
  table agrees with the curves); ``result.json``'s ``final_best`` is used only
  when the trial has no history rows. Likewise calls per trial = history rows,
  falling back to ``n_calls``.
* Standard error = sample standard deviation (ddof=1) / sqrt(n) over complete
  seeds; it is null for a single seed (shown as ``n/a``).
* "Top-3" = the three best distinct oracle values over all complete seeds'
  *valid* proposals (``valid`` true, finite ``value``), rounded to 1e-6 before
  de-duplication, best first in the problem's direction (as in Table 1 of the
  Crystal-LSBO paper). Penalty scores never enter it.
* ``frac_beat_initial`` = fraction of complete seeds whose final best is strictly
  better than that trial's own initial labelled best (null when that is unknown).
  Seeds may start apart (csp26 starts each seed from its own random structure),
  so a trial is compared with its own start; the table's ``initial_best`` is
  the mean over the problem's trials.
* ``rel_improvement`` = (initial − final) / |initial| per trial, signed so that
  positive is better in the problem's direction; mean ± s.e. over seeds (the
  LCOM paper's Fig. 3 "relative energy improvement" on csp26).
* Validity rates and per-call times are over all oracle calls of complete trials.
* Rows are sorted by task, problem, then best first (``rank`` 1 = best mean;
  methods without a complete seed come last with a null rank).
* Curves: complete trials of unequal length are aligned on the oracle-call index
  and a shorter trial's best-so-far is carried forward to the longest trial's
  length (best-so-far stays where it ended). Problems are not averaged across
  (their scales differ); instead there is one panel per (task, problem), at most
  :data:`MAX_PANELS`, chosen round-robin across tasks so every task shows up; the
  figure says when panels were left out. The y-range ignores the first 5% of
  calls, where invalid-proposal penalties would otherwise flatten the plot.
"""

from __future__ import annotations

import html
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from crystalbench.harness.errors import UserError
from crystalbench.harness.final_metrics import write_final_report
from crystalbench.harness.history import (
    HISTORY_FILE,
    RESULT_FILE,
    TRIALS_DIR,
    TrialResult,
    read_histories,
    read_results,
)
from crystalbench.harness.storage import Location, Where, location

MAX_PANELS = 12
TOP_K = 3
TOP_DECIMALS = 6
_Y_SKIP_FRACTION = 0.05

LEADERBOARD_SCHEMA = {
    "task": pl.String,
    "problem": pl.String,
    "method": pl.String,
    "direction": pl.String,  # "min" or "max"
    "rank": pl.Int64,  # 1 = best final_best_mean within (task, problem); null without complete seeds
    "n_seeds": pl.Int64,  # complete trials
    "n_failed": pl.Int64,  # trials with any other status
    "final_best_mean": pl.Float64,
    "final_best_se": pl.Float64,  # sample std / sqrt(n); null for n < 2
    "initial_best": pl.Float64,  # best of the initial labelled set (result.json), mean over the trials
    "top3": pl.List(pl.Float64),  # best distinct valid values over all seeds, best first, rounded to 1e-6
    "frac_beat_initial": pl.Float64,  # fraction of complete seeds with final best strictly better than initial
    "rel_improvement_mean": pl.Float64,  # (initial - final) / |initial| per trial, positive = better
    "rel_improvement_se": pl.Float64,
    "validity_rate": pl.Float64,  # fraction of oracle calls with valid proposals
    "physical_validity_rate": pl.Float64,  # fraction of oracle calls with physically valid proposals
    "calls_per_trial": pl.Float64,  # mean oracle calls per complete trial
    "wall_time_s_per_trial": pl.Float64,  # mean wall time per complete trial
    "method_time_s_per_call": pl.Float64,
    "oracle_time_s_per_call": pl.Float64,
}

_RESULT_SCHEMA = {
    "cell_id": pl.String,
    "method": pl.String,
    "task": pl.String,
    "problem": pl.String,
    "seed": pl.Int64,
    "status": pl.String,
    "direction": pl.String,
    "initial_best": pl.Float64,
    "final_best": pl.Float64,
    "wall_time_s": pl.Float64,
    "n_calls": pl.Int64,
    "error": pl.String,
}

_CELL = ["task", "problem", "method"]


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


# ---------------------------------------------------------------------------
# suite name / default output directory


def suite_name(run_dir: Where | Location) -> str:
    """The run's suite: the first ``suite`` value in its histories, else ``suite`` in ``spec.yaml``.

    Raises :class:`UserError` when neither has it, or when the name is not a safe
    directory name (it becomes ``reports/<suite>/``).
    """
    run_dir = location(run_dir, "run directory")
    name: str | None = None
    for f in (run_dir / TRIALS_DIR).glob(f"*/{HISTORY_FILE}"):
        suites = pl.read_parquet(io.BytesIO(f.read_bytes()), columns=["suite"])["suite"].drop_nulls()
        if len(suites):
            name = suites[0]
            break
    if name is None:
        spec = run_dir / "spec.yaml"
        if spec.is_file():
            import yaml

            data = yaml.safe_load(spec.read_text())
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


# ---------------------------------------------------------------------------
# aggregation


def _results_frame(results: list[TrialResult]) -> pl.DataFrame:
    rows = [
        {
            "cell_id": r.cell_id,
            "method": r.method,
            "task": r.task,
            "problem": r.problem,
            "seed": r.seed,
            "status": r.status,
            "direction": r.direction,
            "initial_best": r.initial_best,
            "final_best": r.final_best,
            "wall_time_s": r.wall_time_s,
            "n_calls": r.n_calls,
            "error": r.error,
        }
        for r in results
    ]
    return pl.DataFrame(rows, schema=_RESULT_SCHEMA, orient="row")


def _sign(direction: pl.Expr) -> pl.Expr:
    """+1 for "min", -1 for "max": ``sign * value`` is smaller-is-better."""
    return pl.when(direction == "max").then(-1.0).otherwise(1.0)


def _problems(res: pl.DataFrame) -> pl.DataFrame:
    """Direction and initial best per (task, problem): the first direction, the mean initial best over its trials."""
    return (
        res.sort("cell_id")
        .group_by("task", "problem", maintain_order=True)
        .agg(
            pl.col("direction").drop_nulls().first().fill_null("min"),
            pl.col("initial_best").fill_nan(None).drop_nulls().mean(),
        )
    )


def _leaderboard(res: pl.DataFrame, hist: pl.DataFrame) -> pl.DataFrame:
    problems = _problems(res)
    complete = res.filter(pl.col("status") == "complete")

    cells = (
        res.group_by(_CELL)
        .agg(
            (pl.col("status") == "complete").sum().cast(pl.Int64).alias("n_seeds"),
            (pl.col("status") != "complete").sum().cast(pl.Int64).alias("n_failed"),
        )
        .join(problems, on=["task", "problem"], how="left")
    )

    per_trial_hist = hist.sort("cell_id", "step").group_by("cell_id").agg(
        pl.col("best_so_far").fill_nan(None).last().alias("hist_final"),
        pl.len().cast(pl.Int64).alias("hist_calls"),
    )
    per_trial = (
        complete.join(per_trial_hist, on="cell_id", how="left")
        .drop("direction")
        .rename({"initial_best": "own_initial"})
        .join(problems, on=["task", "problem"], how="left")
        .with_columns(
            pl.coalesce(pl.col("hist_final"), pl.col("final_best").fill_nan(None)).alias("final"),
            pl.coalesce(pl.col("hist_calls"), pl.col("n_calls")).cast(pl.Float64).alias("calls"),
            pl.coalesce(pl.col("own_initial").fill_nan(None), pl.col("initial_best")).alias("initial"),
        )
        .with_columns(
            pl.when(pl.col("initial").is_null() | pl.col("final").is_null())
            .then(None)
            .otherwise(_sign(pl.col("direction")) * pl.col("final") < _sign(pl.col("direction")) * pl.col("initial"))
            .cast(pl.Float64)
            .alias("beat"),
            pl.when(pl.col("initial").is_null() | pl.col("final").is_null() | (pl.col("initial") == 0))
            .then(None)
            .otherwise(_sign(pl.col("direction")) * (pl.col("initial") - pl.col("final")) / pl.col("initial").abs())
            .alias("rel_improvement"),
        )
    )
    seed_stats = per_trial.group_by(_CELL).agg(
        pl.col("final").mean().alias("final_best_mean"),
        (pl.col("final").std(ddof=1) / pl.col("final").count().cast(pl.Float64).sqrt()).alias("final_best_se"),
        pl.col("beat").mean().alias("frac_beat_initial"),
        pl.col("rel_improvement").mean().alias("rel_improvement_mean"),
        (pl.col("rel_improvement").std(ddof=1) / pl.col("rel_improvement").count().cast(pl.Float64).sqrt()).alias(
            "rel_improvement_se"
        ),
        pl.col("calls").mean().alias("calls_per_trial"),
        pl.col("wall_time_s").mean().alias("wall_time_s_per_trial"),
    )

    call_stats = hist.group_by(_CELL).agg(
        pl.col("valid").cast(pl.Float64).mean().alias("validity_rate"),
        pl.col("physically_valid").cast(pl.Float64).mean().alias("physical_validity_rate"),
        pl.col("method_time_s").mean().alias("method_time_s_per_call"),
        pl.col("oracle_time_s").mean().alias("oracle_time_s_per_call"),
    )

    top = (
        hist.filter(pl.col("valid") & pl.col("value").is_finite())
        .select(*_CELL, pl.col("value").round(TOP_DECIMALS).alias("v"))
        .unique()
        .join(problems.select("task", "problem", "direction"), on=["task", "problem"], how="left")
        .sort(_sign(pl.col("direction")) * pl.col("v"))
        .group_by(_CELL, maintain_order=True)
        .agg(pl.col("v").head(TOP_K).alias("top3"))
    )

    board = (
        cells.join(seed_stats, on=_CELL, how="left")
        .join(call_stats, on=_CELL, how="left")
        .join(top, on=_CELL, how="left")
        .with_columns((_sign(pl.col("direction")) * pl.col("final_best_mean")).alias("_key"))
        .with_columns(pl.col("_key").rank("min").over("task", "problem").cast(pl.Int64).alias("rank"))
        .sort("task", "problem", "_key", "method", nulls_last=True)
    )
    return board.select([pl.col(c).cast(t) for c, t in LEADERBOARD_SCHEMA.items()])


def _curves(hist: pl.DataFrame) -> pl.DataFrame:
    """Mean and s.e. of best-so-far per (task, problem, method, step), shorter trials carried forward."""
    h = hist.select(*_CELL, "cell_id", "step", pl.col("best_so_far").fill_nan(None))
    if h.is_empty():
        return pl.DataFrame(
            schema={
                **{c: pl.String for c in _CELL},
                "step": pl.Int64,
                "mean": pl.Float64,
                "se": pl.Float64,
                "n": pl.Int64,
            }
        )
    lengths = h.group_by(*_CELL, "cell_id").agg(pl.col("step").max().alias("last"))
    grid = (
        lengths.with_columns(pl.col("last").max().over(_CELL).alias("m"))
        .with_columns(pl.int_ranges(1, pl.col("m") + 1).alias("step"))
        .explode("step")
        .select(*_CELL, "cell_id", pl.col("step").cast(pl.Int64))
    )
    filled = (
        grid.join(h.select("cell_id", "step", "best_so_far"), on=["cell_id", "step"], how="left")
        .sort("cell_id", "step")
        .with_columns(pl.col("best_so_far").forward_fill().over("cell_id"))
    )
    return (
        filled.group_by(*_CELL, "step")
        .agg(
            pl.col("best_so_far").mean().alias("mean"),
            (pl.col("best_so_far").std(ddof=1) / pl.col("best_so_far").count().cast(pl.Float64).sqrt()).alias("se"),
            pl.col("best_so_far").count().cast(pl.Int64).alias("n"),
        )
        .sort(*_CELL, "step")
    )


# ---------------------------------------------------------------------------
# formatting


def _is_num(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _fmt(x, decimals: int = 3) -> str:
    if not _is_num(x):
        return "—"
    ax = abs(x)
    if ax >= 1e5 or (0 < ax < 10 ** -decimals):
        return f"{x:.{decimals}e}"
    return f"{x:.{decimals}f}"


def _fmt_mean_se(mean, se, n: int) -> str:
    if not _is_num(mean):
        return "—"
    if n < 2 or not _is_num(se):
        return f"{_fmt(mean)} ± n/a"
    return f"{_fmt(mean)} ± {_fmt(se)}"


def _fmt_top(values) -> str:
    if not values:
        return "—"
    for decimals in range(3, TOP_DECIMALS + 1):  # enough digits to tell the values apart
        shown = [_fmt(v, decimals) for v in values]
        if len(set(shown)) == len(shown):
            break
    return ", ".join(shown)


def _fmt_pct(x) -> str:
    return f"{100 * x:.1f}%" if _is_num(x) else "—"


def _fmt_pct_se(mean, se, n: int) -> str:
    if not _is_num(mean):
        return "—"
    return f"{100 * mean:+.1f}%" + (f" ± {100 * se:.1f}" if n >= 2 and _is_num(se) else "")


def _fmt_seconds(x) -> str:
    return f"{x:.3g} s" if _is_num(x) else "—"


_DISPLAY_COLUMNS = [
    "problem",
    "method",
    "rank",
    "seeds (failed)",
    "final best (mean ± s.e.)",
    "initial best",
    "top-3 found",
    "beat initial",
    "improvement (rel.)",
    "valid",
    "phys. valid",
    "calls/trial",
    "wall/trial",
    "method s/call",
    "oracle s/call",
]


def _display_row(r: dict) -> list[str]:
    n = r["n_seeds"]
    beat = "—"
    if n and _is_num(r["frac_beat_initial"]):
        beat = f"{round(r['frac_beat_initial'] * n)}/{n}"
    return [
        r["problem"],
        r["method"],
        str(r["rank"]) if r["rank"] is not None else "—",
        f"{n} ({r['n_failed']})" if r["n_failed"] else str(n),
        _fmt_mean_se(r["final_best_mean"], r["final_best_se"], n),
        _fmt(r["initial_best"]),
        _fmt_top(r["top3"]),
        beat,
        _fmt_pct_se(r["rel_improvement_mean"], r["rel_improvement_se"], n),
        _fmt_pct(r["validity_rate"]),
        _fmt_pct(r["physical_validity_rate"]),
        f"{r['calls_per_trial']:.0f}" if _is_num(r["calls_per_trial"]) else "—",
        _fmt_seconds(r["wall_time_s_per_trial"]),
        _fmt_seconds(r["method_time_s_per_call"]),
        _fmt_seconds(r["oracle_time_s_per_call"]),
    ]


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no error message)"


@dataclass
class _Section:
    task: str
    direction: str
    rows: list[list[str]]
    failed: list[tuple[str, str]]  # (label, first line of error)


def _sections(board: pl.DataFrame, res: pl.DataFrame) -> list[_Section]:
    failed = res.filter(pl.col("status") != "complete").sort("task", "problem", "method", "seed")
    sections = []
    for task in sorted(set(board["task"].to_list())):
        rows = board.filter(pl.col("task") == task)
        directions = sorted(set(rows["direction"].to_list()))
        f = failed.filter(pl.col("task") == task)
        sections.append(
            _Section(
                task=task,
                direction="/".join(directions),
                rows=[_display_row(r) for r in rows.iter_rows(named=True)],
                failed=[
                    (
                        f"{r['cell_id']} ({r['method']}, {r['problem']}, seed {r['seed']}, {r['status']})",
                        _first_line(r["error"]),
                    )
                    for r in f.iter_rows(named=True)
                ],
            )
        )
    return sections


_DIRECTION_WORD = {"min": "minimise", "max": "maximise"}

_NOTES = [
    "Statistics are over complete trials only; failed trials are counted and listed, not averaged.",
    "s.e. = sample standard deviation / sqrt(n) over seeds; n/a for a single seed.",
    "Top-3 = the best three distinct values (rounded to 1e-6) over all seeds' valid proposals.",
    "Beat initial = seeds whose final best is strictly better than their initial labelled best.",
    "Improvement (rel.) = (initial − final best) / |initial| per seed, positive when better; mean ± s.e.",
    "valid / phys. valid = fractions of oracle calls; times are means per trial or per oracle call.",
]


def _md_cell(text: str) -> str:
    text = html.escape(text, quote=False).replace("|", "\\|")
    return " ".join(text.split())


def _markdown(title: str, summary: list[str], sections: list[_Section]) -> str:
    out = [f"# {_md_cell(title)}", ""]
    out += [_md_cell(s) + "  " for s in summary]
    out.append("")
    for s in sections:
        out += [f"## Task {_md_cell(s.task)} ({_DIRECTION_WORD.get(s.direction, s.direction)})", ""]
        out.append("| " + " | ".join(_DISPLAY_COLUMNS) + " |")
        out.append("|" + "|".join(["---"] * 2 + ["--:"] * (len(_DISPLAY_COLUMNS) - 2)) + "|")
        for row in s.rows:
            out.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
        out.append("")
        if s.failed:
            out += ["Failed trials:", ""]
            out += [f"- {_md_cell(label)}: {_md_cell(err)}" for label, err in s.failed]
            out.append("")
    out += ["## Notes", ""] + [f"- {n}" for n in _NOTES] + [""]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
.failed li { color: #a00; }
.summary { color: #555; }
"""


def _html(title: str, summary: list[str], sections: list[_Section]) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
        '<p class="summary">' + "<br>".join(e(s) for s in summary) + "</p>",
    ]
    for s in sections:
        out.append(f"<h2>Task {e(s.task)} ({e(_DIRECTION_WORD.get(s.direction, s.direction))})</h2>")
        out.append("<table>")
        out.append("<thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in _DISPLAY_COLUMNS) + "</tr></thead>")
        out.append("<tbody>")
        for row in s.rows:
            cells = [f"<td>{e(c)}</td>" if i < 2 else f'<td class="num">{e(c)}</td>' for i, c in enumerate(row)]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody>")
        out.append("</table>")
        if s.failed:
            out.append("<p>Failed trials:</p>")
            out.append('<ul class="failed">')
            out += [f"<li><code>{e(label)}</code>: {e(err)}</li>" for label, err in s.failed]
            out.append("</ul>")
    out.append("<h2>Notes</h2>")
    out.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in _NOTES) + "</ul>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# curves


def _pick_panels(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """At most MAX_PANELS (task, problem) keys, round-robin over tasks, in the original order."""
    if len(keys) <= MAX_PANELS:
        return keys
    by_task: dict[str, list[tuple[str, str]]] = {}
    for k in keys:
        by_task.setdefault(k[0], []).append(k)
    chosen: set[tuple[str, str]] = set()
    depth = 0
    while len(chosen) < MAX_PANELS:
        for ks in by_task.values():
            if depth < len(ks) and len(chosen) < MAX_PANELS:
                chosen.add(ks[depth])
        depth += 1
    return [k for k in keys if k in chosen]


def _plot_curves(curves: pl.DataFrame, board: pl.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [tuple(k) for k in curves.select("task", "problem").unique().sort("task", "problem").rows()]
    if not keys:
        fig, ax = plt.subplots(figsize=(6, 2.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no complete trials with history in this run", ha="center", va="center", fontsize=12)
        fig.suptitle(title)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return

    shown = _pick_panels(keys)
    methods = sorted(set(curves["method"].to_list()))
    cmap = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    colors = {m: cmap(i % cmap.N) for i, m in enumerate(methods)}
    first_rows = board.unique(["task", "problem"], maintain_order=True)
    problems = {(r["task"], r["problem"]): r for r in first_rows.iter_rows(named=True)}

    ncols = min(3, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.3 * nrows + 1.0), squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")

    for ax, (task, problem) in zip(axes.flat, shown):
        info = problems.get((task, problem), {})
        direction = info.get("direction", "min")
        initial = info.get("initial_best")
        lo, hi = [], []
        panel = curves.filter((pl.col("task") == task) & (pl.col("problem") == problem))
        for method in methods:
            c = panel.filter(pl.col("method") == method)
            if c.is_empty():
                continue
            x = c["step"].to_numpy()
            mean = c["mean"].to_numpy(allow_copy=True).astype(float)
            se = np.nan_to_num(c["se"].fill_null(0.0).to_numpy(allow_copy=True).astype(float))
            ax.plot(x, mean, color=colors[method], lw=1.6, label=method)
            ax.fill_between(x, mean - se, mean + se, color=colors[method], alpha=0.2, lw=0)
            tail = x > _Y_SKIP_FRACTION * x.max()
            if tail.any():
                lo.append(np.nanmin((mean - se)[tail]))
                hi.append(np.nanmax((mean + se)[tail]))
        if _is_num(initial):
            ax.axhline(initial, color="0.3", ls="--", lw=1.0, label="initial best")
            lo.append(initial)
            hi.append(initial)
        lo = [v for v in lo if np.isfinite(v)]
        hi = [v for v in hi if np.isfinite(v)]
        if lo and hi:
            a, b = min(lo), max(hi)
            pad = 0.08 * (b - a) if b > a else max(1e-3, 0.05 * abs(a))
            ax.set_ylim(a - pad, b + pad)
        arrow = "↓ better" if direction != "max" else "↑ better"
        ax.set_title(problem if problem == task else f"{task} / {problem}", fontsize=10)
        ax.set_xlabel("oracle calls")
        ax.set_ylabel(f"best so far ({arrow})")
        ax.grid(alpha=0.3)

    handles = [plt.Line2D([], [], color=colors[m], lw=1.6) for m in methods]
    labels = list(methods)
    if any(_is_num(problems.get(k, {}).get("initial_best")) for k in shown):
        handles.append(plt.Line2D([], [], color="0.3", ls="--", lw=1.0))
        labels.append("initial best")
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False)
    note = "mean ± s.e. over complete seeds (shaded)"
    if len(shown) < len(keys):
        note += f"; showing {len(shown)} of {len(keys)} problems (all are in leaderboard.md)"
    fig.suptitle(f"{title}\n{note}", fontsize=11)
    fig.tight_layout(rect=(0, 0.45 / fig.get_figheight(), 1, 1))  # leave the bottom 0.45 in to the legend
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------
# entry point


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
    result_ids = set(res["cell_id"].to_list())
    orphans = sorted(
        d.parent.name
        for d in (run_dir / TRIALS_DIR).glob(f"*/{HISTORY_FILE}")
        if not (d.parent / RESULT_FILE).is_file() and d.parent.name not in result_ids
    )

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
    )
    board.write_parquet(paths.leaderboard_parquet)
    _write_text(paths.leaderboard_md, _markdown(title, summary, sections))
    _write_text(paths.leaderboard_html, _html(title, summary, sections))
    _plot_curves(curves, board, paths.curves_png, title)
    return paths
