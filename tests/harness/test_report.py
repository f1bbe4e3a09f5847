"""harness.report on small synthetic run directories (no Ray, no oracle)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import polars as pl
import pytest

from crystalbench.harness.errors import UserError
from crystalbench.harness.history import TRIALS_DIR, TrialResult, write_history
from crystalbench.harness.report import LEADERBOARD_SCHEMA, _curves, suite_name, write_report

NAN = float("nan")
SUITE = "smoke"
PENALTY = {"formation": 5.0, "bandgap": 0.0}
DIRECTION = {"formation": "min", "bandgap": "max"}
INITIAL = {"formation": -1.0, "bandgap": 2.0}

# (task, method, seed) -> oracle values, NaN = invalid proposal
COMPLETE = {
    ("formation", "random", 0): [-0.5, NAN, -1.1, -0.9, -1.2000001, -0.3],
    ("formation", "random", 1): [-0.8, -0.95, NAN, -1.05, -0.7, -0.99],
    ("formation", "lsbo", 0): [-1.3, -1.2000004, -1.5, NAN, -1.4, -1.6],
    ("formation", "lsbo", 1): [-0.9, -1.7, -1.25, -1.7000002, -1.1, -1.0],
    ("bandgap", "random", 0): [1.0, 2.5, NAN, 1.5, 2.1, 0.5],
    ("bandgap", "random", 1): [1.2, 1.9, 1.8, 1.1, NAN, 1.0],
    ("bandgap", "lsbo", 0): [2.2, 3.1, 2.9, 3.3, 3.0, 2.4],
    ("bandgap", "lsbo", 1): [1.5, 2.8, NAN, 3.6, 3.6000003, 2.0],
}
# a failed trial with a partial history whose values would win everything if it counted
FAILED = ("formation", "lsbo", 2)
FAILED_VALUES = [-9.0, -8.0, -7.0]
FAILED_ERROR = "ValueError: bad <cif> & co\n  at line 2"
WALL = {
    ("formation", "random"): 10.0, ("formation", "lsbo"): 20.0, ("bandgap", "random"): 5.0, ("bandgap", "lsbo"): 7.0,
}


def _structural(step: int) -> bool:
    return step % 3 != 0  # steps 3 and 6 structurally invalid (when valid at all)


def _compositional(step: int) -> bool:
    return step % 2 != 0  # steps 2, 4 and 6 compositionally invalid (when valid at all)


def _trial(
    run_dir: Path, task: str, method: str, seed: int, values: list[float], status: str = "complete",
    error: str | None = None, budget: int = 6, initial: float | None = None,
) -> None:
    direction = DIRECTION[task]
    cell_id = f"{task}-{method}-s{seed}"
    rows, best = [], None
    for step, v in enumerate(values, start=1):
        valid = not math.isnan(v)
        score = v if valid else PENALTY[task]
        best = score if best is None else (min(best, score) if direction == "min" else max(best, score))
        rows.append({
            "suite": SUITE, "cell_id": cell_id, "method": method, "task": task, "problem": task, "seed": seed,
            "step": step, "batch": step, "value": v, "score": score, "valid": valid,
            "structurally_valid": valid and _structural(step), "compositionally_valid": valid and _compositional(step),
            "best_so_far": best,
            "method_time_s": 0.1 * step, "oracle_time_s": 0.01 * seed + 0.02, "cif": "data_x" if valid else None,
        })
    trial_dir = run_dir / TRIALS_DIR / cell_id
    write_history(trial_dir, rows)
    TrialResult(
        cell_id=cell_id, method=method, task=task, problem=task, seed=seed, status=status, budget=budget,
        n_calls=len(values), direction=direction, initial_best=INITIAL[task] if initial is None else initial,
        final_best=best,
        wall_time_s=WALL[(task, method)] + seed, error=error,
        traceback="Traceback ...\n" + error if error else None,
    ).write(trial_dir)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("report") / "run"
    for (task, method, seed), values in COMPLETE.items():
        _trial(run, task, method, seed, values)
    _trial(run, *FAILED, FAILED_VALUES, status="failed", error=FAILED_ERROR)
    return run


@pytest.fixture(scope="module")
def board(run_dir: Path) -> pl.DataFrame:
    paths = write_report(run_dir, run_dir.parent / "board")
    return pl.read_parquet(paths.leaderboard_parquet)


def _best(values: list[float], task: str) -> float:
    scores = [PENALTY[task] if math.isnan(v) else v for v in values]
    return min(scores) if DIRECTION[task] == "min" else max(scores)


def _row(board: pl.DataFrame, task: str, method: str) -> dict:
    rows = board.filter((pl.col("task") == task) & (pl.col("method") == method)).to_dicts()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("task", ["formation", "bandgap"])
@pytest.mark.parametrize("method", ["random", "lsbo"])
def test_leaderboard_matches_hand_computation(board: pl.DataFrame, task: str, method: str) -> None:
    seeds = [COMPLETE[(task, method, s)] for s in (0, 1)]
    finals = [_best(v, task) for v in seeds]
    row = _row(board, task, method)

    assert row["direction"] == DIRECTION[task]
    assert row["n_seeds"] == 2
    assert row["final_best_mean"] == pytest.approx(statistics.mean(finals))
    assert row["final_best_se"] == pytest.approx(statistics.stdev(finals) / math.sqrt(2))
    assert row["initial_best"] == INITIAL[task]

    found = {round(v, 6) for vs in seeds for v in vs if not math.isnan(v)}
    expected_top = sorted(found, reverse=DIRECTION[task] == "max")[:3]
    assert row["top3"] == pytest.approx(expected_top)
    assert len(set(row["top3"])) == 3

    better = (lambda a, b: a < b) if DIRECTION[task] == "min" else (lambda a, b: a > b)
    assert row["frac_beat_initial"] == pytest.approx(sum(better(f, INITIAL[task]) for f in finals) / 2)
    sign = 1.0 if DIRECTION[task] == "min" else -1.0
    gains = [sign * (INITIAL[task] - f) / abs(INITIAL[task]) for f in finals]
    assert row["rel_improvement_mean"] == pytest.approx(statistics.mean(gains))
    assert row["rel_improvement_se"] == pytest.approx(statistics.stdev(gains) / math.sqrt(2))

    calls = [(step, v) for vs in seeds for step, v in enumerate(vs, start=1)]
    assert row["validity_rate"] == pytest.approx(sum(not math.isnan(v) for _, v in calls) / len(calls))
    assert row["structural_validity_rate"] == pytest.approx(
        sum(not math.isnan(v) and _structural(s) for s, v in calls) / len(calls))
    assert row["compositional_validity_rate"] == pytest.approx(
        sum(not math.isnan(v) and _compositional(s) for s, v in calls) / len(calls))
    assert row["both_validity_rate"] == pytest.approx(
        sum(not math.isnan(v) and _structural(s) and _compositional(s) for s, v in calls) / len(calls))
    assert row["calls_per_trial"] == pytest.approx(6.0)
    assert row["wall_time_s_per_trial"] == pytest.approx(WALL[(task, method)] + 0.5)
    assert row["method_time_s_per_call"] == pytest.approx(0.1 * 3.5)
    assert row["oracle_time_s_per_call"] == pytest.approx(0.025)


def test_seeds_that_start_apart_are_each_compared_with_their_own_start(tmp_path: Path) -> None:
    # csp26: every seed starts from its own structure; seed 0 improves on its start, seed 1 does not
    run = tmp_path / "run"
    _trial(run, "formation", "random", 0, [-1.5], initial=-1.0)
    _trial(run, "formation", "random", 1, [-1.5], initial=-2.0)
    row = _row(pl.read_parquet(write_report(run, tmp_path / "board").leaderboard_parquet), "formation", "random")
    assert row["initial_best"] == pytest.approx(-1.5), "the mean of the seeds' starts"
    assert row["frac_beat_initial"] == pytest.approx(0.5)
    assert row["rel_improvement_mean"] == pytest.approx((0.5 + -0.25) / 2)
    md = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "| 1/2 | +12.5% ± 37.5 |" in md


def test_top3_deduplicates_after_rounding(board: pl.DataFrame) -> None:
    # lsbo on formation found -1.7 and -1.7000002: one value after rounding to 1e-6
    assert _row(board, "formation", "lsbo")["top3"] == pytest.approx([-1.7, -1.6, -1.5])
    # invalid proposals (NaN value, penalty score) never enter the top-3
    assert _row(board, "bandgap", "random")["top3"] == pytest.approx([2.5, 2.1, 1.9])


def test_schema_and_order(board: pl.DataFrame) -> None:
    assert dict(board.schema) == LEADERBOARD_SCHEMA
    assert board.height == 4
    # tasks alphabetical; within a task best first in its direction
    assert board.select("task", "method", "rank").rows() == [
        ("bandgap", "lsbo", 1), ("bandgap", "random", 2),
        ("formation", "lsbo", 1), ("formation", "random", 2),
    ]
    band = board.filter(pl.col("task") == "bandgap")["final_best_mean"].to_list()
    assert band == sorted(band, reverse=True)  # max task: descending
    form = board.filter(pl.col("task") == "formation")["final_best_mean"].to_list()
    assert form == sorted(form)


def test_failed_trial_counted_not_averaged(board: pl.DataFrame) -> None:
    row = _row(board, "formation", "lsbo")
    assert (row["n_seeds"], row["n_failed"]) == (2, 1)
    assert row["final_best_mean"] == pytest.approx((-1.6 + -1.7000002) / 2)
    assert min(row["top3"]) > -2  # the failed trial's -9 is not there
    assert board["n_failed"].sum() == 1


def test_files_written(run_dir: Path, tmp_path: Path) -> None:
    paths = write_report(run_dir, tmp_path / "out")
    for p in (paths.leaderboard_parquet, paths.leaderboard_md, paths.leaderboard_html, paths.curves_png):
        assert p.parent == tmp_path / "out"
        assert p.is_file() and p.stat().st_size > 0
    assert paths.curves_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    md = paths.leaderboard_md.read_text(encoding="utf-8")
    assert "## Task bandgap (maximise)" in md and "## Task formation (minimise)" in md
    mean = (-1.6 + -1.7000002) / 2
    se = statistics.stdev([-1.6, -1.7000002]) / math.sqrt(2)
    assert f"{mean:.3f} ± {se:.3f}" in md
    assert "formation-lsbo-s2" in md and "ValueError: bad &lt;cif&gt; &amp; co" in md
    assert "at line 2" not in md  # only the error's first line

    page = paths.leaderboard_html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page
    assert "bad &lt;cif&gt; &amp; co" in page
    assert "<cif>" not in page
    assert "src=" not in page and "href=" not in page  # standalone


def test_single_seed_has_null_se(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _trial(run, "formation", "random", 0, COMPLETE[("formation", "random", 0)])
    paths = write_report(run, tmp_path / "out")
    row = pl.read_parquet(paths.leaderboard_parquet).row(0, named=True)
    assert row["n_seeds"] == 1 and row["final_best_se"] is None
    assert "± n/a" in paths.leaderboard_md.read_text(encoding="utf-8")


def test_curves_handle_unequal_lengths(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _trial(run, "formation", "random", 0, [-0.5, -1.0, -0.2, -0.1])
    _trial(run, "formation", "random", 1, [-0.8, -0.9])  # complete but shorter: carried forward
    _trial(run, "formation", "random", 2, [-5.0], status="failed", error="boom")
    from crystalbench.harness.history import read_histories

    hist = read_histories(run).filter(pl.col("seed") < 2)
    curves = _curves(hist)
    assert curves["step"].to_list() == [1, 2, 3, 4]
    assert curves["mean"].to_list() == pytest.approx([-0.65, -0.95, -0.95, -0.95])
    assert curves["n"].to_list() == [2, 2, 2, 2]
    paths = write_report(run, tmp_path / "out")
    assert paths.curves_png.read_bytes()[:4] == b"\x89PNG"


def test_zero_complete_trials_still_writes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _trial(run, *FAILED, FAILED_VALUES, status="failed", error=FAILED_ERROR)
    paths = write_report(run, tmp_path / "out")
    board = pl.read_parquet(paths.leaderboard_parquet)
    assert board.height == 1
    row = board.row(0, named=True)
    assert (row["n_seeds"], row["n_failed"]) == (0, 1)
    assert row["final_best_mean"] is None and row["rank"] is None
    assert "No complete trials" in paths.leaderboard_md.read_text(encoding="utf-8")
    assert paths.leaderboard_html.stat().st_size > 0
    assert paths.curves_png.read_bytes()[:4] == b"\x89PNG"


def test_no_trials_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "run" / TRIALS_DIR).mkdir(parents=True)
    with pytest.raises(UserError, match="no trial results under"):
        write_report(tmp_path / "run", tmp_path / "out")
    with pytest.raises(UserError, match="no trial results under"):
        write_report(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_suite_name(run_dir: Path, tmp_path: Path) -> None:
    assert suite_name(run_dir) == SUITE
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "spec.yaml").write_text("suite: paper_table1\nseeds: 3\n")
    assert suite_name(bare) == "paper_table1"
    (bare / "spec.yaml").write_text("seeds: 3\n")
    with pytest.raises(UserError):
        suite_name(bare)
    (bare / "spec.yaml").write_text("suite: ../evil\n")
    with pytest.raises(UserError):
        suite_name(bare)
