"""What the harness adds to each oracle call: validity checks, the penalty, budget keeping.

Times, side by side in one run over the same crystals, the raw task oracles
(``problem.oracle``) against the same oracles behind ``BudgetedOracle`` (which
adds the CIF round-trip validity and the physical checks), batch size 1 and 32.

    python benchmarks/oracle_overhead.py [--n 200] [--out benchmarks/results/oracle_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from crystalbench.api import registry
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.oracle import BudgetedOracle
from crystalbench.harness.store import ArtifactStore


def seconds_per_call(fn, structures, batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(structures), batch):
        fn(structures[i : i + batch])
    return (time.perf_counter() - start) / len(structures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="crystals timed per configuration")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/oracle_overhead.json"))
    args = parser.parse_args()

    registry.load()
    dataset = Dataset.from_file()
    structures = dataset.structures(range(0, len(dataset), max(1, len(dataset) // args.n)))[: args.n]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(tmp)
        for name in ("electronegativity", "formation_energy"):
            task = registry.get_task(name)()
            problem = task.load_problem(name, dataset, task.prepare(store, dataset))
            for batch in (1, 32):
                raw = seconds_per_call(problem.oracle, structures, batch)
                wrapped_oracle = BudgetedOracle(problem.oracle, len(structures), problem.invalid_penalty)
                wrapped = seconds_per_call(wrapped_oracle, structures, batch)
                rows.append({"task": name, "batch": batch, "raw_ms": raw * 1e3, "harness_ms": wrapped * 1e3,
                             "ratio": wrapped / raw})
    print(f"{'task':<18} {'batch':>5} {'raw ms/call':>12} {'harness ms/call':>16} {'ratio':>7}")
    for r in rows:
        print(f"{r['task']:<18} {r['batch']:>5} {r['raw_ms']:>12.2f} {r['harness_ms']:>16.2f} {r['ratio']:>7.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"n": len(structures), "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
