"""The dataset under an interatomic potential: the single-point and relaxed energy of every crystal, built once.

The MLIP rung of the fidelity ladder measures a proposal's formation energy with the
same model the dataset's crystals were scored with, against chemical potentials fitted
on those crystals (``chemical_potentials``), and its stability against their hull. This
module computes what that needs, per dataset row: the energy per atom of the crystal as
stored (a single point) and after relaxing it as csp26 relaxes (FIRE on a
``FrechetCellFilter``, ``RELAX_FMAX``, at most ``RELAX_STEPS`` steps), the relaxed
structure, whether the relaxation converged, its steps, seconds and volume change.

The rows are built in chunks of ``CHUNK``, each a content-addressed artifact keyed by
(dataset digest, chunk, model, relaxation settings, ``VERSION``): an interrupted build
keeps the chunks it finished, and processes building at once share the work through the
store's per-key lock. The index artifact holds the whole table, ``energies.parquet``.

    python -m crystalbench.physics.dataset_energies [--model chgnet] [--part K/N] [--artifacts DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from crystalbench.api import ArtifactStore, Dataset, default_artifact_root, local_artifact, to_cif
from crystalbench.physics.energy_models import get_energy_model

VERSION = 1
"""Bump when what a chunk holds changes: it keys the artifacts."""
CHUNK = 100
RELAX_FMAX = 0.05
"""eV/Å, as csp26's final relaxation."""
RELAX_STEPS = 300
TABLE = "energies.parquet"
SCHEMA = {"row": pl.Int64, "material_id": pl.String, "single_point": pl.Float64, "relaxed": pl.Float64,
          "relaxed_cif": pl.String, "converged": pl.Boolean, "steps": pl.Int64, "seconds": pl.Float64,
          "volume_change": pl.Float64}
"""Energies in eV/atom; ``volume_change`` is relaxed volume / stored volume − 1; NaN/empty where the model failed."""


def prepare_dataset_energies(store: ArtifactStore, dataset: Dataset, model: str = "chgnet",
                             part: tuple[int, int] = (0, 1)) -> Path:
    """The index artifact of ``dataset``'s energies under ``model`` (its ``TABLE``), building what is missing.

    ``part`` = (k, n): build chunks k, k + n, … first, so n processes started at once split the work.
    """
    n_chunks = -(-len(dataset) // CHUNK)
    k, n = part
    order = [c for c in range(n_chunks) if c % n == k] + [c for c in range(n_chunks) if c % n != k]
    chunks = {c: store.where(_chunk(store, dataset, model, c)) for c in order}

    def build(out: Path) -> None:
        table = pl.concat([pl.read_parquet(local_artifact(chunks[c]) / TABLE) for c in range(n_chunks)])
        table.write_parquet(out / TABLE)

    key = {"dataset": dataset.digest, "model": model, "version": VERSION, "chunk": CHUNK,
           "relax": {"fmax": RELAX_FMAX, "steps": RELAX_STEPS}}
    return store.get_or_build("physics/dataset_energies", key, build)


def load_dataset_energies(directory: Path, dataset: Dataset) -> pl.DataFrame:
    """The table of ``prepare_dataset_energies``, one row per dataset row in order."""
    table = pl.read_parquet(Path(directory) / TABLE)
    if table.height != len(dataset) or table["material_id"].to_list() != dataset.table["material_id"].to_list():
        raise ValueError(f"{directory} holds energies of another dataset than {dataset.digest[:12]}")
    return table


def _chunk(store: ArtifactStore, dataset: Dataset, model: str, chunk: int) -> Path:
    rows = list(range(chunk * CHUNK, min((chunk + 1) * CHUNK, len(dataset))))
    key = {"dataset": dataset.digest, "model": model, "version": VERSION, "rows": [rows[0], rows[-1]],
           "relax": {"fmax": RELAX_FMAX, "steps": RELAX_STEPS}}
    return store.get_or_build("physics/dataset_energies/chunk", key,
                              lambda out: _energies(dataset, model, rows).write_parquet(out / TABLE))


def _energies(dataset: Dataset, model_name: str, rows: list[int]) -> pl.DataFrame:
    model = get_energy_model(model_name)
    structures = dataset.structures(rows)
    single = model.energy_per_atom(structures)
    records = []
    for row, structure, energy in zip(rows, structures, single, strict=True):
        relaxed = model.relax(structure, fmax=RELAX_FMAX, steps=RELAX_STEPS)
        finite = bool(np.isfinite(relaxed.energy_per_atom))
        records.append({
            "row": row, "material_id": dataset.table["material_id"][row], "single_point": float(energy),
            "relaxed": relaxed.energy_per_atom, "relaxed_cif": to_cif(relaxed.structure) if finite else None,
            "converged": relaxed.converged, "steps": relaxed.steps, "seconds": relaxed.seconds,
            "volume_change": relaxed.structure.volume / structure.volume - 1 if finite else float("nan"),
        })
    return pl.DataFrame(records, schema=SCHEMA)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="chgnet")
    parser.add_argument("--part", default="0/1", help="K/N: build every N-th chunk from the K-th first")
    parser.add_argument("--artifacts", default=None, help="artifact store (default: the user cache)")
    args = parser.parse_args(argv)
    k, n = (int(x) for x in args.part.split("/"))
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    directory = prepare_dataset_energies(ArtifactStore(args.artifacts or default_artifact_root()),
                                         Dataset.from_file(), args.model, (k, n))
    print(f"{directory} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
