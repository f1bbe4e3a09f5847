"""How faithful the interatomic-potential rung is: its formation energies of held-out dataset crystals against DFT.

The dataset's crystals are split as the formation-energy proxy splits them (a seeded
permutation, ``SPLIT_SEED``; the first ``TEST_FRACTION`` are held out), so the figures
compare with the proxy's held-out errors. Chemical potentials are fitted on the training
rows (``chemical_potentials``), once on the single-point energies of the stored
structures and once on the relaxed energies; the held-out rows' formation energies are
then compared with their labels: MAE, RMSE and Spearman ρ.

    python -m crystalbench.physics.mlip_fidelity [--model chgnet] [--out FILE.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from crystalbench.api import ArtifactStore, Dataset, default_artifact_root
from crystalbench.physics.chemical_potentials import ChemicalPotentials
from crystalbench.physics.dataset_energies import load_dataset_energies, prepare_dataset_energies

SPLIT_SEED = 0
TEST_FRACTION = 0.2
LABEL = "formation_energy_per_atom"


def held_out_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) rows: the proxy's split of ``n`` crystals."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = int(round(TEST_FRACTION * n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def fidelity(dataset: Dataset, energies: pl.DataFrame) -> pl.DataFrame:
    """One row per energy column (``single_point``, ``relaxed``): held-out MAE, RMSE, Spearman ρ and counts."""
    compositions = [s.composition for s in dataset.structures()]
    labels = dataset.labels(LABEL)
    train, test = held_out_split(len(dataset))
    rows = []
    for column in ("single_point", "relaxed"):
        e = energies[column].to_numpy()
        potentials = ChemicalPotentials.fit([compositions[i] for i in train], e[train], labels[train])
        predicted = potentials.formation_energies([compositions[i] for i in test], e[test])
        ok = np.isfinite(predicted) & np.isfinite(labels[test])
        error = predicted[ok] - labels[test][ok]
        rows.append({"energies": column, "n_train": len(train), "n_test": int(ok.sum()),
                     "n_test_missing": int((~ok).sum()), "mae": float(np.abs(error).mean()),
                     "rmse": float(np.sqrt((error**2).mean())),
                     "spearman": float(spearmanr(predicted[ok], labels[test][ok]).statistic)})
    return pl.DataFrame(rows)


def markdown(table: pl.DataFrame, energies: pl.DataFrame, model: str) -> str:
    """The report: the fidelity table, then what the relaxations cost and did."""
    lines = [f"# The interatomic-potential rung: {model} formation energies against the dataset's DFT labels", "",
             f"Held out: {TEST_FRACTION:.0%} of the dataset by the proxy's split (seed {SPLIT_SEED}); chemical "
             "potentials fitted by least squares on the rest (`crystalbench.physics.chemical_potentials`).", "",
             "| energies | train | held out | no μ for an element | MAE (eV/atom) | RMSE | Spearman ρ |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    lines += [f"| {r['energies']} | {r['n_train']} | {r['n_test']} | {r['n_test_missing']} | {r['mae']:.4f} | "
              f"{r['rmse']:.4f} | {r['spearman']:.3f} |" for r in table.iter_rows(named=True)]
    converged = energies["converged"].mean()
    lines += ["", f"Relaxations: {energies.height} crystals, {converged:.1%} converged (fmax 0.05 eV/Å), "
              f"median {energies['steps'].median():.0f} steps, {energies['seconds'].sum() / 60:.1f} CPU-minutes in all "
              f"(median {energies['seconds'].median():.2f} s); median |volume change| "
              f"{energies['volume_change'].abs().median():.2%}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="chgnet")
    parser.add_argument("--artifacts", default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    dataset = Dataset.from_file()
    directory = prepare_dataset_energies(ArtifactStore(args.artifacts or default_artifact_root()), dataset, args.model)
    energies = load_dataset_energies(directory, dataset)
    text = markdown(fidelity(dataset, energies), energies, args.model)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
