"""Nightly regression: compare a run's method × problem cells with a committed baseline.

A cell regresses when any of these holds (thresholds are ``Thresholds``' defaults):

* **worse results** — a one-sided Mann–Whitney U test over seeds says the new
  final bests are worse than the baseline's (p < 0.05), direction-aware. With
  the exact test, 4 seeds a side is the fewest that can reach p < 0.05 (the
  nightly spec uses 5); identical reruns give p = 1;
* **lost validity** — the valid-proposal rate drops by more than 10 points;
* **slow-down** — the median wall time per oracle call (the method's ask/tell
  time plus the oracle's, from the history; the median, so that first-call
  warm-up does not count; trial start-up is excluded, being mostly noise on a
  shared machine) grows more than 3× and by at least 10 ms;
* **missing** — a baseline cell has no complete trial in the run.

The baseline is JSON: per cell its direction, per-seed final bests, validity
rate and seconds per oracle call.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import mannwhitneyu

from crystalbench.harness.errors import UserError
from crystalbench.harness.history import read_histories, read_results
from crystalbench.harness.storage import Where

CELL_KEYS = ("direction", "final_best", "valid_rate", "seconds_per_call")
"""What ``compare`` reads of each baseline cell."""


@dataclass(frozen=True)
class Thresholds:
    alpha: float = 0.05
    validity_drop: float = 0.10
    slowdown: float = 3.0
    slowdown_min_seconds: float = 0.010


@dataclass(frozen=True)
class CellVerdict:
    cell: str
    baseline_median: float | None
    new_median: float | None
    p_value: float | None
    baseline_valid: float | None
    new_valid: float | None
    time_ratio: float | None
    problems: tuple[str, ...]

    @property
    def regressed(self) -> bool:
        return bool(self.problems)


def summarise(run_dir: Where) -> dict:
    """The baseline record of a run directory (a path or a URI): per ``task/problem/method`` cell, its complete seeds' figures."""
    results = [r for r in read_results(run_dir) if r.status == "complete"]
    if not results:
        raise UserError(f"no complete trials under {run_dir}")
    history = read_histories(run_dir)
    per_cell = history.group_by("cell_id").agg(
        pl.col("valid").mean(), (pl.col("method_time_s") + pl.col("oracle_time_s")).median().alias("seconds")
    )
    valid = dict(zip(per_cell["cell_id"], per_cell["valid"]))
    seconds = dict(zip(per_cell["cell_id"], per_cell["seconds"]))
    cells: dict[str, dict] = {}
    for r in sorted(results, key=lambda r: (r.task, r.problem, r.method, r.seed)):
        cell = cells.setdefault(
            f"{r.task}/{r.problem}/{r.method}",
            {"direction": r.direction, "seeds": [], "final_best": [], "valid_rate": [], "seconds_per_call": []},
        )
        cell["seeds"].append(r.seed)
        cell["final_best"].append(r.final_best)
        cell["valid_rate"].append(valid.get(r.cell_id, 0.0))
        cell["seconds_per_call"].append(seconds.get(r.cell_id, 0.0))
    for cell in cells.values():
        cell["valid_rate"] = float(np.mean(cell["valid_rate"]))
        cell["seconds_per_call"] = float(np.mean(cell["seconds_per_call"]))
    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "run_dir": str(run_dir), "cells": cells}


def write_baseline(run_dir: Where, baseline: Path) -> dict:
    """Accept ``run_dir`` as the new baseline."""
    record = summarise(run_dir)
    baseline.parent.mkdir(parents=True, exist_ok=True)
    baseline.write_text(json.dumps(record, indent=2, sort_keys=True))
    return record


def read_baseline(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"baseline not found: {path} (create one with --update-baseline)")
    try:
        record = json.loads(path.read_text())
        record["cells"].items()
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"baseline {path} is not a crystalbench baseline: {type(exc).__name__}: {exc}") from None
    for name, cell in record["cells"].items():
        missing = [key for key in CELL_KEYS if not isinstance(cell, dict) or key not in cell]
        if missing:
            raise UserError(f"baseline {path}: cell {name!r} lacks {', '.join(repr(k) for k in missing)}; "
                            "write the baseline again with --update-baseline")
    return record


def compare(baseline: dict, current: dict, thresholds: Thresholds = Thresholds()) -> list[CellVerdict]:
    """One verdict per baseline cell (cells new in ``current`` are not regressions)."""
    verdicts = []
    for name, base in sorted(baseline["cells"].items()):
        new = current["cells"].get(name)
        if new is None:
            verdicts.append(CellVerdict(name, _median(base["final_best"]), None, None, base["valid_rate"], None,
                                        None, ("missing",)))
            continue
        problems = []
        p = _p_worse(base["final_best"], new["final_best"], base["direction"])
        if p is not None and p < thresholds.alpha:
            problems.append(f"worse results (p={p:.3g})")
        if new["valid_rate"] < base["valid_rate"] - thresholds.validity_drop:
            problems.append(f"validity {base['valid_rate']:.0%} -> {new['valid_rate']:.0%}")
        ratio = new["seconds_per_call"] / base["seconds_per_call"] if base["seconds_per_call"] > 0 else None
        slower_by = new["seconds_per_call"] - base["seconds_per_call"]
        if ratio is not None and ratio > thresholds.slowdown and slower_by > thresholds.slowdown_min_seconds:
            problems.append(f"{ratio:.1f}x slower per call")
        verdicts.append(CellVerdict(name, _median(base["final_best"]), _median(new["final_best"]), p,
                                    base["valid_rate"], new["valid_rate"], ratio, tuple(problems)))
    return verdicts


def _p_worse(base: list[float], new: list[float], direction: str) -> float | None:
    """One-sided Mann–Whitney U p-value that ``new`` is worse than ``base`` (None: too few seeds to test)."""
    if len(base) < 2 or len(new) < 2:
        return None
    if np.array_equal(np.sort(base), np.sort(new)):
        return 1.0
    worse = "greater" if direction == "min" else "less"
    return float(mannwhitneyu(new, base, alternative=worse, method="auto").pvalue)


def _median(values: list[float]) -> float:
    return float(np.median(values))


def format_table(verdicts: list[CellVerdict]) -> str:
    header = f"{'cell':<52} {'baseline':>10} {'new':>10} {'p(worse)':>9} {'valid':>13} {'s/call':>7}  verdict"
    lines = [header, "-" * len(header)]
    for v in verdicts:
        valid = f"{_pct(v.baseline_valid)}->{_pct(v.new_valid)}"
        lines.append(
            f"{v.cell:<52} {_num(v.baseline_median):>10} {_num(v.new_median):>10} {_num(v.p_value, 3):>9} "
            f"{valid:>13} {_num(v.time_ratio, 2) + 'x' if v.time_ratio else '-':>7}  "
            f"{'REGRESSED: ' + '; '.join(v.problems) if v.regressed else 'ok'}"
        )
    return "\n".join(lines)


def _num(x: float | None, digits: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"
