"""Check-mark tables of final metrics: counts over all problems of the run, failed ones included."""

from __future__ import annotations

from harness.final_metrics import write_final_report
from harness.history import TrialResult


def result(problem: str, seed: int, status: str = "complete", ok: bool = True, matched: str | None = "judge"):
    final = {"energy_success": ok, "strict_success": ok, "matched": matched if ok else None,
             "relaxed_cif": "data_x", "final_seconds": 2.0}
    return TrialResult(cell_id=f"csp26.{problem}.rs.s{seed}", method="rs", task="csp26", problem=problem, seed=seed,
                       status=status, budget=4, wall_time_s=10.0, extra={"final": final} if status == "complete" else {})


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
