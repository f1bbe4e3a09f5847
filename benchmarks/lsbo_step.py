"""Time of one Crystal-LSBO iteration (GP fit + log-EI optimisation + decode + oracle) as the labelled set grows.

Side by side in one run, on the default trained stack and a task's oracle
(default formation energy: the bundled data's electronegativity best, 3.98, is
pure fluorine's and cannot be beaten): the incremental pattern of ``methods/crystal_lsbo/bo.py`` (hyperparameters
re-fitted every 10 proposals, warm-started) against the reference pattern of the
paper's code (a new GP fitted from default hyperparameters every iteration, 10
restarts, 512 raw samples). The labelled set is the task's 100 initial crystals
plus uniform latents from the search box, decoded and labelled by the oracle.

At each size the incremental pattern is timed over a whole refit cycle (one warm
refit + the conditioned-only iterations) after an untimed fit, as in a long run;
the reference over ``--ref-iters`` iterations. Then, for each of ``--seeds``, both
run ``--iters`` LSBO iterations from the initial 100 crystals with that seed; the
best proposal of each is printed, and their mean ± s.e. over the seeds.

    python benchmarks/lsbo_step.py [--task formation_energy] [--sizes 100 600 1100] [--iters 25]
                                   [--seeds 0 1 2 3 4] [--out benchmarks/results/lsbo_step.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from crystalbench.api import Problem, registry
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.store import ArtifactStore
from crystalbench.methods.crystal_lsbo.bo import REFERENCE, BOSettings, LatentBO
from crystalbench.methods.crystal_lsbo.latent_space import LatentSpace, StackConfig, prepare_stack

PATTERNS = {"incremental": BOSettings(), "reference": REFERENCE}


def signed(problem: Problem, values: np.ndarray) -> torch.Tensor:
    """Oracle values with the penalty for NaN, negated for ``min`` problems (the GP maximises)."""
    values = np.where(np.isnan(values), problem.invalid_penalty, values)
    return torch.as_tensor(values if problem.direction == "max" else -values, dtype=torch.float64)


def step(bo: LatentBO, space: LatentSpace, problem: Problem, X: torch.Tensor, Y: torch.Tensor, seed: int):
    """One LSBO iteration (Y signed so that larger is better); returns the grown (X, Y)."""
    z = bo.propose(X, Y, seed)
    return torch.cat([X, z]), torch.cat([Y, signed(problem, problem.oracle(space.decode(z.to(torch.float32))))])


def labelled_set(space: LatentSpace, problem: Problem, size: int, rng: np.random.Generator):
    """Initial latents and values plus ``size - 100`` decoded uniform latents with their oracle values."""
    X = space.encode_structures(problem.initial_structures).to(torch.float64)
    Y = signed(problem, problem.initial_values)
    extra = size - len(X)
    if extra > 0:
        z = torch.as_tensor(rng.uniform(-3, 3, (extra, X.shape[1])), dtype=torch.float32)
        X, Y = torch.cat([X, z.to(torch.float64)]), torch.cat([Y, signed(problem, problem.oracle(space.decode(z)))])
    return X, Y


def time_pattern(name: str, space: LatentSpace, problem: Problem, X, Y, ref_iters: int) -> float:
    """Mean seconds per iteration at the size of (X, Y)."""
    settings = PATTERNS[name]
    bo = LatentBO(X.shape[1], 3.0, settings)
    iters = ref_iters
    if name == "incremental":
        bo.propose(X, Y, seed=0)  # untimed: the hyperparameters a long run would carry in
        bo._since_fit = settings.refit_every  # the timed window starts with a (warm) refit
        iters = settings.refit_every
    start = time.perf_counter()
    for i in range(iters):
        X, Y = step(bo, space, problem, X, Y, seed=1 + i)
    return (time.perf_counter() - start) / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 600, 1100])
    parser.add_argument("--ref-iters", type=int, default=1, help="timed reference iterations per size")
    parser.add_argument("--iters", type=int, default=25, help="LSBO iterations for the final-best comparison")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="seeds of the final-best comparison (the first also draws the timing sets)")
    parser.add_argument("--task", default="formation_energy", choices=["formation_energy", "electronegativity"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/lsbo_step.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    store = ArtifactStore(Path("~/.cache/crystalbench/artifacts").expanduser())
    dataset = Dataset.from_file()
    task = registry.get_task(args.task)()
    problem = task.load_problem(args.task, dataset, task.prepare(store, dataset))
    sign = 1.0 if problem.direction == "max" else -1.0
    space = LatentSpace.load(prepare_stack(store, dataset, StackConfig()))
    rng = np.random.default_rng(args.seeds[0])

    rows = []
    print(f"{'labelled':>8} {'incremental s/it':>17} {'reference s/it':>15} {'ratio':>6}")
    for size in args.sizes:
        X, Y = labelled_set(space, problem, size, rng)
        times = {name: time_pattern(name, space, problem, X, Y, args.ref_iters) for name in PATTERNS}
        rows.append({"labelled": size, **{f"{k}_s_per_iter": v for k, v in times.items()},
                     "ratio": times["reference"] / times["incremental"]})
        print(f"{size:>8} {times['incremental']:>17.3f} {times['reference']:>15.3f} {rows[-1]['ratio']:>6.1f}",
              flush=True)

    finals: dict[str, list[float]] = {name: [] for name in PATTERNS}
    print(f"{'seed':>4} " + " ".join(f"{name + ' best':>17} {'s':>6}" for name in PATTERNS))
    for seed in args.seeds:
        cells = []
        for name, settings in PATTERNS.items():
            X, Y = labelled_set(space, problem, 0, rng)
            bo = LatentBO(X.shape[1], 3.0, settings)
            start = time.perf_counter()
            for i in range(args.iters):
                X, Y = step(bo, space, problem, X, Y, seed=seed * 1000 + i)
            finals[name].append(sign * float(Y[-args.iters:].max()))
            cells.append(f"{finals[name][-1]:>17.4f} {time.perf_counter() - start:>6.1f}")
        print(f"{seed:>4} " + " ".join(cells), flush=True)
    summary = {name: {"mean": float(np.mean(v)), "se": float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1
                      else float("nan"), "per_seed": v} for name, v in finals.items()}
    initial_best = problem.best(problem.initial_values)
    for name, row in summary.items():
        print(f"{name}: best of {args.iters} proposals {row['mean']:.4f} ± {row['se']:.4f} "
              f"over {len(args.seeds)} seeds (initial best {initial_best:.4f})")
    better = sum(not problem.better(b, a) for a, b in zip(finals["incremental"], finals["reference"], strict=True))
    print(f"incremental at least as good as reference in {better}/{len(args.seeds)} seeds")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sizes": rows, "final_best": summary, "iters": args.iters, "task": args.task,
                                    "seeds": args.seeds, "initial_best": initial_best,
                                    "incremental_at_least_as_good": better}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
