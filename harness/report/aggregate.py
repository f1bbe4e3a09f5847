"""The leaderboard and the best-so-far curves, computed with polars from trial results and histories.

Choices worth knowing:

* Only **complete** trials enter the statistics and the curves; failed ones are
  counted in ``n_failed``. Any status other than ``"complete"`` counts as failed.
* A trial's final best is the ``best_so_far`` of its last history row (so the
  table agrees with the curves); ``result.json``'s ``final_best`` is used only
  when the trial has no history rows. Likewise calls per trial = history rows,
  falling back to ``n_calls``.
* Standard error = sample standard deviation (ddof=1) / sqrt(n) over complete
  seeds; it is null for a single seed.
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
  length (best-so-far stays where it ended).
"""

from __future__ import annotations

import polars as pl

from crystalbench.harness.history import TrialResult

TOP_K = 3
TOP_DECIMALS = 6

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
    "structural_validity_rate": pl.Float64,  # fraction of oracle calls with structurally valid proposals
    "compositional_validity_rate": pl.Float64,  # ... compositionally valid (SMACT)
    "both_validity_rate": pl.Float64,  # ... both
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
        pl.col("structurally_valid").cast(pl.Float64).mean().alias("structural_validity_rate"),
        pl.col("compositionally_valid").cast(pl.Float64).mean().alias("compositional_validity_rate"),
        (pl.col("structurally_valid") & pl.col("compositionally_valid")).cast(pl.Float64).mean()
        .alias("both_validity_rate"),
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
