"""Tables of the final results that some problems add to a trial (``Problem.finalize``; csp26's success).

``write_final_report(results, out_dir)`` writes, when any complete trial has a final
result (``result.json`` ``extra.final``, a ``FinalResult``, and ``extra.judged``, the
judges' ``Judgement``s):

``final.parquet``
    One row per complete trial: task, problem, method, seed, wall time, and the
    scalars of every judgement (``Judgement.scalars``; a judge's prefixed ``<judge>.``).
``final.md``
    Per task and per success criterion (the judgements' ``criteria``), a
    check-mark table like LCOM's Table 1: one row per problem, one column per
    method; ✓ when every seed succeeded, ``k/n`` when some did, ✗ when none did,
    with which reference matched (``<criterion>.matched``) in brackets; a problem whose
    trials all failed is listed and counts as unsolved. The last row counts
    successes out of the number of problems, as the mean over seeds and as the
    number of problems solved by at least one seed. Then, when the final results
    hold the objective's value of the final structure (``value``), a Fig. 3-style
    table of its relative improvement over the trial's initial best (the start),
    (initial − final) / |initial| signed so that positive is better, mean over seeds.
    Then a Table 2-style timing:
    wall-clock seconds per predicted structure (one trial predicts one), split
    into search and final evaluation (``final_seconds``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from crystalbench.api import Judgement, registry
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import TrialResult

CHECK, CROSS = "✓", "✗"
FINAL_VALUE = "value"
"""The column of the objective's value of the final structure, in the history's units (csp26: the relaxed
structure's energy). Unlike the leaderboard's final best, which for csp26 is an unrelaxed proposal, it is
comparable with the start's value, a relaxed structure's."""


def judgements(result: TrialResult) -> dict[str, Judgement]:
    """Column prefix -> judgement of a trial's final structure: ``""`` its own model's (``extra.final``),
    ``"<judge>."`` each judge's (``extra.judged``; a judge of proposals is ``harness.verified``'s).

    Empty for a trial without a final result; a result in another layout is a one-line ``UserError``.
    """
    final = result.extra.get("final")
    if not final:
        return {}
    where = f"trial {result.cell_id} (result.json)"
    found = {"": Judgement.from_json(final, where)}
    return found | {f"{judge}.": Judgement.from_json(entries[0], where)
                    for judge, entries in sorted(result.extra.get("judged", {}).items())
                    if entries and entries[0]["step"] is None}


def final_scalars(result: TrialResult) -> dict:
    """The scalars of all of a trial's judgements in one flat row (see ``judgements`` for the prefixes)."""
    row = {}
    for prefix, judgement in judgements(result).items():
        row |= judgement.scalars(prefix)
    return row


def criteria(results: list[TrialResult]) -> list[str]:
    """Every success criterion of ``results``' judgements as a column name, in the order the tasks give them;
    the trials' own before the judges'."""
    names: dict[str, None] = {}
    for r in results:
        for prefix, judgement in judgements(r).items():
            names |= {f"{prefix}{c}": None for c in judgement.criteria}
    return sorted(names, key=lambda c: "." in c)


def final_frame(results: list[TrialResult]) -> pl.DataFrame:
    """One row per complete trial that has a final result: its judgements' scalars."""
    rows = []
    for r in results:
        if r.status != "complete" or not r.extra.get("final"):
            continue
        rows.append({"task": r.task, "problem": r.problem, "method": r.method, "seed": r.seed,
                     "direction": r.direction, "initial_best": r.initial_best, "wall_time_s": r.wall_time_s,
                     "final_seconds": r.extra.get("final_seconds"), **final_scalars(r)})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def success_table(frame: pl.DataFrame, criterion: str, problems: list[str]) -> list[str]:
    """Markdown lines of the check-mark table of one task for one criterion column."""
    matched_column = f"{criterion}.matched"
    methods = sorted(frame["method"].unique().to_list())
    lines = ["| problem | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    counts = {}
    for problem in problems:
        cells = []
        for method in methods:
            trials = frame.filter((pl.col("problem") == problem) & (pl.col("method") == method))
            cells.append(_cell(trials, criterion, matched_column))
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    for method in methods:
        per_seed = (frame.filter(pl.col("method") == method).group_by("seed")
                    .agg(pl.col(criterion).cast(pl.Int64).sum()))
        solved = (frame.filter((pl.col("method") == method) & pl.col(criterion))["problem"].n_unique())
        mean = per_seed[criterion].mean() if per_seed.height else 0.0
        counts[method] = (f"{mean:.1f}/{len(problems)} mean over {per_seed.height} seeds; "
                          f"{solved}/{len(problems)} by any seed")
    lines.append("| **count** | " + " | ".join(counts[m] for m in methods) + " |")
    return lines


def _cell(trials: pl.DataFrame, criterion: str, matched_column: str | None) -> str:
    if trials.height == 0:
        return "— (no complete trial)"
    wins = int(trials[criterion].cast(pl.Int64).sum())
    mark = CHECK if wins == trials.height else CROSS if wins == 0 else f"{wins}/{trials.height}"
    if matched_column and matched_column in trials.columns and wins:
        which = sorted({m for m, ok in zip(trials[matched_column], trials[criterion]) if ok and m})
        if which:
            mark += f" ({', '.join(which)})"
    return mark


def improvement_table(frame: pl.DataFrame, problems: list[str]) -> list[str]:
    """Markdown lines: mean relative improvement of ``FINAL_VALUE`` over the initial best, per problem and method."""
    sign = pl.when(pl.col("direction") == "max").then(-1.0).otherwise(1.0)
    rel = (sign * (pl.col("initial_best") - pl.col(FINAL_VALUE)) / pl.col("initial_best").abs()).fill_nan(None)
    frame = frame.with_columns(rel.alias("rel"))
    methods = sorted(frame["method"].unique().to_list())
    means = {(p, m): v for p, m, v in frame.group_by("problem", "method").agg(pl.col("rel").mean()).iter_rows()}
    lines = ["| problem | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for problem in problems:
        cells = [_percent(means.get((problem, m))) for m in methods]
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    summary = []
    for m in methods:
        values = [v for (p, mm), v in means.items() if mm == m and v is not None]
        positive = sum(v > 0 for v in values)
        summary.append(f"{_percent(sum(values) / len(values) if values else None)}; {positive}/{len(values)} positive")
    lines.append("| **mean over problems** | " + " | ".join(summary) + " |")
    return lines


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f} %"


def timing_table(frame: pl.DataFrame) -> list[str]:
    """Markdown lines: wall-clock seconds per predicted structure by method (mean, and its split)."""
    final = pl.col("final_seconds").fill_null(0.0) if "final_seconds" in frame.columns else pl.lit(0.0)
    rows = (frame.with_columns(final.alias("final_s"))
            .group_by("method").agg(pl.len().alias("n"), pl.col("wall_time_s").mean().alias("total"),
                                    pl.col("final_s").mean().alias("final"))
            .sort("total"))
    lines = ["| method | trials | s per structure | search | final evaluation |", "|---|---|---|---|---|"]
    for r in rows.iter_rows(named=True):
        lines.append(f"| {r['method']} | {r['n']} | {r['total']:.1f} | {r['total'] - r['final']:.1f} | {r['final']:.1f} |")
    return lines


def _problem_order(task: str, seen: list[str]) -> list[str]:
    """The task's own problem order (csp26: the paper's Table 1), else alphabetical."""
    try:
        order = registry.get_task(task)().problem_names()
    except (UserError, TypeError, ValueError):
        return sorted(seen)
    return [p for p in order if p in seen] + sorted(set(seen) - set(order))


def write_final_report(results: list[TrialResult], out_dir: Path) -> Path | None:
    """Write ``final.parquet`` and ``final.md`` under ``out_dir``; None when no trial has final metrics."""
    frame = final_frame(results)
    if frame.height == 0:
        return None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out_dir / "final.parquet")
    lines = ["# Final metrics", ""]
    for task in sorted(frame["task"].unique().to_list()):
        sub = frame.filter(pl.col("task") == task)
        problems = _problem_order(task, sorted({r.problem for r in results if r.task == task}))
        for criterion in criteria([r for r in results if r.task == task]):
            lines += [f"## {task}: `{criterion}`", "", *success_table(sub, criterion, problems), ""]
        if FINAL_VALUE in sub.columns and sub["initial_best"].is_not_null().any():
            lines += [f"## {task}: relative improvement of the final `{FINAL_VALUE}` over the start "
                      "(positive = better)", "",
                      *improvement_table(sub, problems), ""]
        lines += [f"## {task}: wall-clock per predicted structure (s)", "", *timing_table(sub), ""]
    path = out_dir / "final.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
