"""Surrogate versus oracle energy along lcom/sl optimisation paths (LCOM Figs. 2 and 4), after the run.

A csp26 trial of lcom or sl run with ``path_every`` > 0 keeps in its trace the
decoded structure every ``path_every`` gradient steps. This scores those
structures with the task's scoring oracle (``Task.scoring_oracle``: the trial's
energy model) — outside the trial, so outside its budget — and writes one row
per (trial, proposal, step): the surrogate's prediction and the oracle's energy per atom (NaN where the decode gave no
crystal), as ``path_energies.csv``, a per-method mean table
``path_energies.md`` and the Fig. 2-style plot ``path_energies.png`` in the
run's report directory.

    python -m crystalbench.methods.lcom.path_energies RUN_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

from crystalbench.api import from_cif, read_results, registry

REPORT_DIR = "report"


def path_energies(run_dir: Path) -> pl.DataFrame:
    """One row per decoded path point of every lcom/sl trial with a traced path.

    The task is configured as the trial's problem reports its energy model
    (``problem_info.energy_model``); a task without a scoring oracle is a ``UserError``.
    """
    rows = []
    for result in read_results(run_dir):
        trace = result.extra.get("trace", {})
        if not any("path_cifs" in p for p in trace.get("proposals", [])):
            continue
        task = registry.get_task(result.task)(energy_model=result.extra["problem_info"]["energy_model"])
        oracle = task.scoring_oracle(result.problem)
        for index, proposal in enumerate(trace["proposals"]):
            steps = [int(step) for step in proposal["path_cifs"]]
            structures = [from_cif(cif) if cif else None for cif in proposal["path_cifs"].values()]
            energies = oracle(structures)
            for step, structure, energy in zip(steps, structures, energies, strict=True):
                rows.append({"method": result.method, "problem": result.problem, "seed": result.seed,
                             "proposal": index, "step": step, "surrogate": proposal["surrogate"][step],
                             "oracle": float(energy) if structure is not None else np.nan})
    return pl.DataFrame(rows, schema={"method": pl.String, "problem": pl.String, "seed": pl.Int64,
                                      "proposal": pl.Int64, "step": pl.Int64, "surrogate": pl.Float64,
                                      "oracle": pl.Float64})


def step_means(table: pl.DataFrame) -> pl.DataFrame:
    """Mean surrogate and oracle energy per atom by problem, method and step over seeds (failed decodes left out)."""
    return (table.group_by(["problem", "method", "step"])
            .agg(pl.col("surrogate").mean(), pl.col("oracle").drop_nans().mean(), pl.len().alias("n"))
            .sort(["problem", "method", "step"]))


def summary(means: pl.DataFrame) -> str:
    """Markdown of ``step_means``: eV/atom by method, problem and step."""
    lines = ["| problem | method | step | surrogate (eV/atom) | oracle (eV/atom) | n |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['problem']} | {r['method']} | {r['step']} | {r['surrogate']:.3f} | "
              f"{r['oracle'] if r['oracle'] is None else format(r['oracle'], '.3f')} | {r['n']} |"
              for r in means.iter_rows(named=True)]
    return "\n".join(lines)


def plot(means: pl.DataFrame, path: Path) -> None:
    """One panel per problem of ``step_means``: surrogate (dashed) and oracle (solid) energy per atom by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = sorted(set(means["problem"]))
    methods = sorted(set(means["method"]))
    fig, axes = plt.subplots(1, max(len(problems), 1), figsize=(4.8 * max(len(problems), 1), 3.6), squeeze=False)
    for ax, problem in zip(axes.flat, problems, strict=False):
        for i, method in enumerate(methods):
            rows = means.filter((pl.col("problem") == problem) & (pl.col("method") == method))
            color = f"C{i}"
            ax.plot(rows["step"], rows["surrogate"], "--", color=color, label=f"{method} surrogate")
            ax.plot(rows["step"], rows["oracle"], "-o", color=color, markersize=3, label=f"{method} oracle")
        ax.set(title=problem, xlabel="gradient step", ylabel="energy (eV/atom)")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    table = path_energies(args.run_dir)
    out = args.run_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    table.write_csv(out / "path_energies.csv")
    means = step_means(table)
    text = summary(means)
    (out / "path_energies.md").write_text(text + "\n")
    plot(means, out / "path_energies.png")
    print(text)


if __name__ == "__main__":
    main()
