"""The verified leaderboard: each method ranked by what a judge (the MLIP rung) confirms of its best proposals.

Beside the proxy leaderboard of a property task whose trials were judged
(``harness.judging``; figures per trial from ``harness.verified``), per (task, method):

* verified best: mean ± s.e. over the trials that verified at least one crystal, how many
  did, and the best verified crystal pooled over seeds (value and formula);
* S.U.N.: stable, unique, novel verified crystals per trial (mean) and distinct across
  seeds (``StructureMatcher`` on the relaxed crystals);
* the exploitation gap (proxy value − judged value of each trial's proxy-best crystal,
  positive when the proxy over-promised; mean) and the proxy–judge Spearman ρ over all
  judged crystals of the method;
* the rank under the proxy (the leaderboard's) and under verification, marked ``≠``
  where they differ.

``verified.md`` and ``verified.parquet``, and ``verified_scatter.png`` (proxy score
against judged value, one colour per method, filled where verified).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from scipy.stats import spearmanr

from crystalbench.harness.crystal import from_cif
from crystalbench.harness.history import TrialResult
from crystalbench.harness.verified import NOVEL, STABLE, VERIFIED, verified_summary


def judged_rows(results: list[TrialResult]) -> pl.DataFrame:
    """One row per judged proposal of every complete trial: task, method, seed, judge, score, value, criteria."""
    rows = []
    for r in results:
        for judge, entries in r.extra.get("judged", {}).items() if r.status == "complete" else ():
            for e in entries:
                if e["step"] is None:
                    continue
                rows.append({"task": r.task, "method": r.method, "seed": r.seed, "cell_id": r.cell_id, "judge": judge,
                             "direction": r.direction, "score": e["score"], "value": e["value"],
                             "verified": bool(e["criteria"].get(VERIFIED)),
                             "sun": bool(e["criteria"].get(VERIFIED) and e["criteria"].get(STABLE)
                                         and e["criteria"].get(NOVEL)),
                             "relaxed": e.get("relaxed")})
    return pl.DataFrame(rows, schema={"task": pl.String, "method": pl.String, "seed": pl.Int64, "cell_id": pl.String,
                                      "judge": pl.String, "direction": pl.String, "score": pl.Float64,
                                      "value": pl.Float64, "verified": pl.Boolean, "sun": pl.Boolean,
                                      "relaxed": pl.String})


def verified_board(results: list[TrialResult], board: pl.DataFrame) -> pl.DataFrame:
    """One row per (task, method) with judged trials: the figures of the module docstring."""
    rows = judged_rows(results)
    trials = {r.cell_id: r for r in results if r.status == "complete" and r.extra.get("judged")}
    out = []
    for (task, method), group in rows.group_by(["task", "method"], maintain_order=True):
        direction = group["direction"][0]
        per_trial = [verified_summary(_proposals(trials[c]), direction)
                     for c in group["cell_id"].unique(maintain_order=True)]
        bests = np.array([s["best"] for s in per_trial if math.isfinite(s["best"])])
        verified = group.filter(pl.col("verified") & pl.col("value").is_finite())
        pooled = (verified.sort("value", descending=direction == "max").row(0, named=True) if verified.height else None)
        finite = group.filter(pl.col("value").is_finite() & pl.col("score").is_finite())
        rho = (float(spearmanr(finite["score"], finite["value"]).statistic) if finite.height >= 3
               and finite["value"].n_unique() > 1 and finite["score"].n_unique() > 1 else math.nan)
        proxy_rank = board.filter((pl.col("task") == task) & (pl.col("method") == method))["rank"]
        out.append({
            "task": task, "method": method, "direction": direction, "trials": len(per_trial),
            "trials_verified": len(bests),
            "verified_best_mean": float(bests.mean()) if len(bests) else math.nan,
            "verified_best_se": float(bests.std(ddof=1) / math.sqrt(len(bests))) if len(bests) > 1 else math.nan,
            "pooled_best": pooled["value"] if pooled else math.nan,
            "pooled_best_formula": from_cif(pooled["relaxed"]).composition.reduced_formula if pooled else None,
            "sun_per_trial": float(np.mean([s["sun"] for s in per_trial])),
            "sun_distinct": _distinct(group.filter(pl.col("sun"))["relaxed"].to_list()),
            "exploitation_gap": float(np.nanmean([s["exploitation_gap"] for s in per_trial])),
            "proxy_spearman": rho,
            "proxy_rank": int(proxy_rank.min()) if proxy_rank.len() and proxy_rank.min() is not None else None,
        })
    frame = pl.DataFrame(out)
    if frame.height == 0:
        return frame
    sign = pl.when(pl.col("direction") == "max").then(-1.0).otherwise(1.0)
    return frame.with_columns(
        (sign * pl.col("verified_best_mean")).fill_nan(None).rank("min").over("task").cast(pl.Int64)
        .alias("verified_rank")).sort(["task", "verified_rank"], nulls_last=True)


def _proposals(result: TrialResult) -> list[dict]:
    """The judged proposals of a trial (the first judge's; a final structure's verdict is not one)."""
    return [e for e in next(iter(result.extra["judged"].values())) if e["step"] is not None]


def _distinct(cifs: list[str | None]) -> int:
    matcher, kept = StructureMatcher(), []
    for structure in (from_cif(c) for c in cifs if c):
        if not any(_same(matcher, structure, k) for k in kept):
            kept.append(structure)
    return len(kept)


def _same(matcher: StructureMatcher, a: Structure, b: Structure) -> bool:
    return a.composition.reduced_formula == b.composition.reduced_formula and matcher.fit(a, b)


def markdown(frame: pl.DataFrame, judge: str) -> str:
    """``verified.md``: one table per task."""
    lines = [f"# Verified leaderboard (judge: {judge})", "",
             "Each trial's best distinct proposals were relaxed and re-scored by the judge. *Verified*: valid "
             "structurally and compositionally, still the proposal after relaxing, and the task's own condition. "
             "S.U.N.: verified, ≤ 0.1 eV/atom above the judge's hull of the dataset, not in the dataset. "
             "Exploitation gap: proxy − judge on each trial's proxy-best crystal (positive: the proxy over-promised). "
             "`≠`: the method ranks differently under the proxy.", ""]
    for task, group in frame.group_by("task", maintain_order=True):
        lines += [f"## {task[0]} ({'minimise' if group['direction'][0] == 'min' else 'maximise'})", "",
                  "| rank (verified) | rank (proxy) | method | verified best (mean ± s.e.) | trials verified | "
                  "best verified crystal | S.U.N. per trial | S.U.N. distinct | exploitation gap | proxy–judge ρ |",
                  "|--:|--:|---|--:|--:|---|--:|--:|--:|--:|"]
        for r in group.iter_rows(named=True):
            moved = " ≠" if r["verified_rank"] is not None and r["proxy_rank"] != r["verified_rank"] else ""
            best = "—" if math.isnan(r["verified_best_mean"]) else f"{r['verified_best_mean']:.3f}" + (
                "" if math.isnan(r["verified_best_se"]) else f" ± {r['verified_best_se']:.3f}")
            pooled = "—" if r["pooled_best_formula"] is None else f"{r['pooled_best']:.3f} ({r['pooled_best_formula']})"
            lines.append(f"| {r['verified_rank'] or '—'}{moved} | {r['proxy_rank'] or '—'} | {r['method']} | {best} | "
                         f"{r['trials_verified']}/{r['trials']} | {pooled} | {r['sun_per_trial']:.1f} | "
                         f"{r['sun_distinct']} | {r['exploitation_gap']:+.3f} | {_fmt(r['proxy_spearman'])} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.2f}"


def plot_scatter(rows: pl.DataFrame, path: Path) -> None:
    """Proxy score against judged value per task panel; one colour per method, filled where verified."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = rows["task"].unique(maintain_order=True).to_list()
    methods = sorted(rows["method"].unique().to_list())
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.4), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=True):
        for i, method in enumerate(methods):
            sub = rows.filter((pl.col("task") == task) & (pl.col("method") == method))
            for verified, face in ((True, f"C{i}"), (False, "none")):
                part = sub.filter(pl.col("verified") == verified)
                ax.scatter(part["score"], part["value"], s=18, facecolors=face, edgecolors=f"C{i}",
                           label=method if verified else None)
        finite = rows.filter((pl.col("task") == task) & pl.col("value").is_finite())
        if finite.height:
            lo = min(finite["score"].min(), finite["value"].min())
            hi = max(finite["score"].max(), finite["value"].max())
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set(title=task, xlabel="proxy (oracle) value", ylabel="judged value (MLIP)")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_verified_report(results: list[TrialResult], board: pl.DataFrame, out_dir: Path) -> Path | None:
    """Write ``verified.md``, ``verified.parquet`` and ``verified_scatter.png``; None when no proposal was judged."""
    rows = judged_rows(results)
    if rows.height == 0:
        return None
    frame = verified_board(results, board)
    frame.write_parquet(out_dir / "verified.parquet")
    path = out_dir / "verified.md"
    path.write_text(markdown(frame, ", ".join(sorted(rows["judge"].unique()))), encoding="utf-8")
    plot_scatter(rows, out_dir / "verified_scatter.png")
    return path
