"""The ask/tell loop of one trial, run in-process: rows, batches, seeds, and methods that misbehave."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crystalbench.harness.dataset import Dataset
from crystalbench.harness.history import TrialResult, read_history
from crystalbench.harness.runner import run_cell
from crystalbench.harness.spec import Cell


def cell(**changes) -> Cell:
    base = Cell(method="database", method_label="database", method_params={}, task="electronegativity",
                task_params={}, problem="electronegativity", seed=0, budget=6, batch_size=1)
    return dataclasses.replace(base, **changes)


def history(ctx, c: Cell) -> pl.DataFrame:
    return read_history(ctx.trial_dir(c))


def test_one_row_per_oracle_call_and_a_complete_result(trial_context):
    c = cell()
    result = run_cell(c, trial_context)
    rows = history(trial_context, c)
    assert result.status == "complete" and result.n_calls == 6 and rows.height == 6
    assert rows["step"].to_list() == [1, 2, 3, 4, 5, 6]
    assert rows["best_so_far"].to_list() == np.maximum.accumulate(rows["score"].to_numpy()).tolist()
    assert result.final_best == rows["best_so_far"][-1]
    assert result.direction == "max" and result.initial_best >= result.final_best
    assert TrialResult.read(trial_context.trial_dir(c)).status == "complete"


def test_batches_never_exceed_the_budget(trial_context):
    c = cell(batch_size=4, seed=3)
    run_cell(c, trial_context)
    assert history(trial_context, c)["batch"].to_list() == [1, 1, 1, 1, 2, 2]


def test_the_seed_and_cell_fix_the_proposals(trial_context):
    a, relabelled, other_seed = cell(seed=5), cell(seed=5, method_label="database_b"), cell(seed=6)
    run_cell(a, trial_context)
    first = history(trial_context, a)["cif"].to_list()
    run_cell(a, trial_context)
    assert history(trial_context, a)["cif"].to_list() == first, "same cell, same proposals"
    for c in (relabelled, other_seed):
        run_cell(c, trial_context)
        assert history(trial_context, c)["cif"].to_list() != first, f"{c.cell_id} must draw its own stream"


def test_a_method_with_nothing_left_ends_the_trial_complete_before_its_budget(trial_context):
    n = len(Dataset.load(Path(trial_context.dataset_path)))
    c = cell(budget=n + 50, batch_size=64, seed=2)
    result = run_cell(c, trial_context)
    assert result.status == "complete" and result.n_calls == n == history(trial_context, c).height
    assert result.extra["exhausted"] == f"all {n} dataset crystals proposed"


def test_a_methods_trace_is_kept_in_the_result_and_an_empty_one_is_not(trial_context):
    traced = run_cell(cell(method="traced", method_label="traced", budget=5, batch_size=2), trial_context)
    assert traced.extra["trace"] == {"told": [2, 2, 1]}
    assert "trace" not in run_cell(cell(), trial_context).extra


def test_a_method_returning_garbage_fails_the_trial_with_a_clear_error(trial_context):
    c = cell(method="returns_garbage", method_label="returns_garbage")
    with pytest.raises(TypeError):
        run_cell(c, trial_context)
    result = TrialResult.read(trial_context.trial_dir(c))
    assert result.status == "failed"
    assert result.error == "TypeError: returns_garbage.ask returned a str, expected pymatgen Structure or None"
    assert history(trial_context, c).height == 0


def test_an_interrupted_trial_says_so_and_keeps_its_calls(trial_context):
    c = cell(method="interrupted_on_seed", method_label="interrupted_on_seed", seed=1)
    with pytest.raises(KeyboardInterrupt):
        run_cell(c, trial_context)
    result = TrialResult.read(trial_context.trial_dir(c))
    assert result.status == "failed"
    assert result.error == "interrupted after 3 oracle calls (KeyboardInterrupt); --resume re-runs it"
    assert history(trial_context, c).height == 3
