"""``curves.png``: best-so-far against oracle calls, one panel per (task, problem), one line per method.

Each line is the mean over complete seeds with ± s.e. shaded (from
:func:`~crystalbench.harness.report.aggregate._curves`), with a dashed line at the
problem's initial best. Problems are not averaged across (their scales differ);
instead there is one panel per (task, problem), at most :data:`MAX_PANELS`, chosen
round-robin across tasks so every task shows up; the figure says when panels were
left out. The y-range ignores the first 5% of calls, where invalid-proposal
penalties would otherwise flatten the plot.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from crystalbench.harness.report.render import _is_num

MAX_PANELS = 12
_Y_SKIP_FRACTION = 0.05


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
