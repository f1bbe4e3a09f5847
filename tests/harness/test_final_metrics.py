"""Check-mark tables of final metrics: counts over all problems of the run, failed ones included."""

from __future__ import annotations

import pytest

from crystalbench.api import Judgement, UserError
from crystalbench.harness.final_metrics import criteria, final_frame, improvement_table, write_final_report
from crystalbench.harness.history import TrialResult


def final(value: float | None = None, **criteria: bool) -> dict:
    return {"structure": "data_x", **Judgement(value=value, criteria=criteria).to_json()}


def result(problem: str, seed: int, status: str = "complete", ok: bool = True, matched: str | None = "judge"):
    own = Judgement(criteria={"energy_success": ok, "strict_success": ok},
                    matched={"strict_success": matched if ok else None})
    extra = {"final": {"structure": "data_x", **own.to_json()}, "final_seconds": 2.0}
    return TrialResult(cell_id=f"csp26.{problem}.rs.s{seed}", method="rs", task="csp26", problem=problem, seed=seed,
                       status=status, budget=4, wall_time_s=10.0, extra=extra if status == "complete" else {})


def test_tables_count_every_problem_and_say_which_reference_matched(tmp_path):
    results = [result("NaCl", 0), result("NaCl", 1, ok=False), result("LiF", 0), result("LiF", 1),
               result("ZnO", 0, status="failed")]
    text = write_final_report(results, tmp_path).read_text()
    strict = text[text.index("`strict_success`"):text.index("wall-clock")]
    assert "| LiF | ✓ (judge) |" in strict and "| NaCl | 1/2 (judge) |" in strict
    assert "| ZnO | — (no complete trial) |" in strict
    assert strict.index("| LiF") < strict.index("| NaCl") < strict.index("| ZnO"), "the task's problem order"
    assert "1.5/3 mean over 2 seeds; 2/3 by any seed" in strict
    assert "| rs | 4 | 10.0 | 8.0 | 2.0 |" in text
    assert write_final_report([result("NaCl", 0, status="failed")], tmp_path / "none") is None


def test_the_relaxed_final_is_compared_with_the_start_per_problem_and_method():
    def trial(problem, method, seed, start, value):
        return TrialResult(cell_id=f"csp26.{problem}.{method}.s{seed}", method=method, task="csp26", problem=problem,
                           seed=seed, status="complete", budget=1, initial_best=start,
                           extra={"final": final(value, strict_success=True)})

    results = [trial("NaCl", "lcom", 0, -4.0, -4.2), trial("NaCl", "lcom", 1, -4.0, -4.04),
               trial("NaCl", "sl", 0, -4.0, -3.0), trial("LiF", "sl", 0, -5.0, float("nan")),
               trial("LiF", "lcom", 0, -5.0, -4.5)]

    lines = improvement_table(final_frame(results), ["LiF", "NaCl"])
    assert lines[2] == "| LiF | -10.0 % | — |", "a NaN final energy is no improvement figure"
    assert lines[3] == "| NaCl | +3.0 % | -25.0 % |", "mean over seeds; a higher energy is negative"
    assert lines[4] == "| **mean over problems** | -3.5 %; 1/2 positive | -25.0 %; 0/1 positive |"


def test_a_judges_criteria_get_tables_of_their_own_after_the_trials_own():
    judged = result("NaCl", 0)
    judged.extra["judged"] = {"gpaw": [{"step": None, "score": None, **Judgement(
        value=-3.0, criteria={"strict_success": False}, matched={"strict_success": None}).to_json()}]}
    assert criteria([judged, result("NaCl", 1)]) == ["energy_success", "strict_success", "gpaw.strict_success"]
    row = final_frame([judged]).row(0, named=True)
    assert row["gpaw.value"] == -3.0 and row["gpaw.strict_success"] is False and row["strict_success"] is True


def test_a_final_result_in_the_layout_before_the_typed_result_is_refused_in_one_line(tmp_path):
    old = result("NaCl", 0)
    old.extra["final"] = {"relaxed_cif": "data_x", "strict_success": True, "energy_per_atom": -3.0}
    with pytest.raises(UserError, match="csp26.NaCl.rs.s0.*older than the typed final result") as caught:
        write_final_report([old], tmp_path)
    assert "\n" not in str(caught.value)
