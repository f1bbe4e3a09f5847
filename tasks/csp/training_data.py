"""The csp26 training data: sub-optimal structures of every compound, labelled with the energy model.

LCOM trains on OQMD/MatBench, where a composition appears in several stable
structures that are not its ground state. We build an OQMD-style set per
compound, deterministically:

* prototype decorations — every candidate polymorph of ``compounds.polymorphs``
  (rocksalt, CsCl type, zinc blende, wurtzite; diamond, graphite, lonsdaleite);
* strained variants — each prototype scaled isotropically by ``STRAINS`` and given
  a random shear, with atoms rattled by ``RATTLE_A`` Å (``VARIANTS`` per strain);
* random symmetric structures of the reference cell's atom count and of twice it
  (``random_structures``), relaxed ``RANDOM_RELAX_STEPS`` FIRE steps towards
  their local minimum.

Each structure is labelled with its single-point energy per atom and formation
energy per atom, and every structure that ``StructureMatcher`` matches to the
compound's experimental ground state or the judge's lowest polymorph is removed
(the paper trains on sub-optimal structures only). The set of one compound is a
content-addressed artifact keyed by (compound, energy model, ``VERSION``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

from crystalbench.api import (
    ArtifactStore,
    Dataset,
    LabelledCrystals,
    UserError,
    default_artifact_root,
    local_artifact,
    name_entropy,
)
from crystalbench.tasks.csp.compounds import COMPOUNDS, polymorphs, reference

VERSION = 1
"""Bump when the generator changes: it keys the artifacts."""
STRAINS = (0.88, 0.94, 1.06, 1.12)
VARIANTS = 2
RATTLE_A = 0.08
SHEAR = 0.04
N_RANDOM = 4
RANDOM_RELAX_STEPS = 60
INDEX = "compounds.json"
TABLE = "training.parquet"


def prepare_training_data(store: ArtifactStore, model: str, compounds: Sequence[str] = COMPOUNDS) -> Path:
    """Build (once per key) the training set of each compound; returns an index artifact naming them."""
    paths = {}
    for compound in compounds:
        key = {"compound": compound, "energy_model": model, "version": VERSION,
               "ground_states": _ground_state_digest(compound)}
        built = store.get_or_build("task/csp26/training", key, lambda out, c=compound: _build(out, c, model))
        paths[compound] = store.where(built)  # a store-wide name: trials on any node resolve it

    def write_index(out: Path) -> None:
        (out / INDEX).write_text(json.dumps(paths, indent=1, sort_keys=True))

    return store.get_or_build("task/csp26", {"energy_model": model, "version": VERSION, "compounds": paths}, write_index)


def _ground_state_digest(compound: str) -> str:
    """Identity of the structures removed from a compound's set (the judge's polymorph can change)."""
    ref = reference(compound)
    cifs = [s.to(fmt="cif") for s in (ref.structure, ref.judge_structure) if s is not None]
    return hashlib.sha256("".join(cifs).encode()).hexdigest()


def load_training_data(index_dir: Path, compound: str) -> Dataset:
    """One compound's training set from the index artifact written by ``prepare_training_data``."""
    index = json.loads((Path(index_dir) / INDEX).read_text())
    if compound not in index:
        raise UserError(f"csp26 artifact {index_dir} has no training data for {compound}; prepare it first")
    return Dataset.load(local_artifact(index[compound]) / TABLE)


def labelled_crystals(index_dir: Path, compounds: Sequence[str]) -> LabelledCrystals:
    """The training structures of ``compounds``, compound by compound, labelled with their energy per atom."""
    ids, problems, structures, values = [], [], [], []
    for compound in compounds:
        data = load_training_data(index_dir, compound)
        ids += data.table["material_id"].to_list()
        problems += [compound] * len(data)
        structures += data.structures()
        values.append(data.labels("energy_per_atom"))
    return LabelledCrystals(ids=ids, problems=problems, structures=structures, values=np.concatenate(values))


def summary(index_dir: Path) -> str:
    """Markdown: size and composition coverage of the training data, per compound and origin."""
    header = ("| compound | structures | prototypes | strained/rattled | random relaxed | removed as ground state "
              "| energy range (eV/atom) |")
    lines = [header, "|---|---|---|---|---|---|---|"]
    total = 0
    index = json.loads((Path(index_dir) / INDEX).read_text())
    for compound in [c for c in COMPOUNDS if c in index]:
        data = load_training_data(index_dir, compound)
        origin = data.table["source"].str.split(": ").list.last()
        strained = int(origin.str.contains("strain").sum())
        random = int(origin.str.starts_with("random").sum())
        energies = data.labels("energy_per_atom")
        total += len(data)
        lines.append(f"| {compound} | {len(data)} | {len(data) - strained - random} | {strained} | {random} | "
                     f"{data.skipped} | {np.ptp(energies):.2f} |")
    return "\n".join([*lines, "", f"{total} structures in all."])


def main(argv: list[str] | None = None) -> None:
    """Build (or find) the training data of every compound and print its coverage table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="chgnet")
    parser.add_argument("--artifacts", type=Path, default=None, help="artifact store (default: the user cache)")
    args = parser.parse_args(argv)
    store = ArtifactStore(args.artifacts or default_artifact_root())
    print(summary(prepare_training_data(store, args.model)))


def generate_structures(compound: str, rng: np.random.Generator) -> list[tuple[str, Structure]]:
    """(origin, structure) pairs of one compound before labelling and filtering."""
    from crystalbench.tasks.csp.random_structures import random_structure

    found: list[tuple[str, Structure]] = []
    for name, prototype in polymorphs(compound).items():
        found.append((name, prototype))
        for strain in STRAINS:
            for variant in range(VARIANTS):
                found.append((f"{name}-strain{strain}-v{variant}", _distorted(prototype, strain, rng)))
    species = {el.symbol: int(n) for el, n in reference(compound).structure.composition.element_composition.items()}
    for multiple in (1, 2):
        for i in range(N_RANDOM // 2):
            scaled = {el: n * multiple for el, n in species.items()}
            found.append((f"random-x{multiple}-{i}", random_structure(scaled, rng)))
    return found


def _distorted(structure: Structure, strain: float, rng: np.random.Generator) -> Structure:
    deformation = strain * (np.eye(3) + SHEAR * rng.uniform(-1, 1, size=(3, 3)))
    out = structure.copy()
    out.lattice = out.lattice.__class__(out.lattice.matrix @ deformation.T)
    out.perturb(RATTLE_A, min_distance=RATTLE_A / 2, seed=int(rng.integers(2**31)))
    return out


def _build(out: Path, compound: str, model_name: str) -> None:
    from crystalbench.physics.energy_models import get_energy_model
    from crystalbench.tasks.csp.formation import formation_energy_per_atom

    model = get_energy_model(model_name)
    rng = np.random.default_rng(np.random.SeedSequence([VERSION, name_entropy(compound)]))
    origins, structures = [], []
    for origin, structure in generate_structures(compound, rng):
        if origin.startswith("random"):
            relaxed = model.relax(structure, steps=RANDOM_RELAX_STEPS)
            structure, origin = relaxed.structure, f"{origin}-relaxed{relaxed.steps}"
        origins.append(origin)
        structures.append(structure)
    energies = model.energy_per_atom(structures)
    ref = reference(compound)
    ground_states = [s for s in (ref.structure, ref.judge_structure) if s is not None]
    matcher = StructureMatcher()
    keep = [
        i for i, s in enumerate(structures)
        if np.isfinite(energies[i]) and not any(matcher.fit(s, g) for g in ground_states)
    ]
    rows = [_row(compound, origins[i], structures[i], float(energies[i]),
                 formation_energy_per_atom(model, structures[i], float(energies[i]))) for i in keep]
    table = pl.DataFrame(rows, schema=_SCHEMA, orient="row")
    digest = hashlib.sha256(table.write_csv().encode()).hexdigest()
    Dataset(table=table, digest=digest, skipped=len(structures) - len(keep)).save(out / TABLE)


_SCHEMA = {
    "material_id": pl.String, "pretty_formula": pl.String, "formation_energy_per_atom": pl.Float64,
    "band_gap": pl.Float64, "e_above_hull": pl.Float64, "elements": pl.String, "spacegroup.number": pl.Int64,
    "cif": pl.String, "source": pl.String, "n_sites": pl.Int64, "n_elements": pl.Int64, "energy_per_atom": pl.Float64,
}


def _row(compound: str, origin: str, structure: Structure, energy: float, formation: float) -> tuple:
    elements = sorted(el.symbol for el in structure.composition.elements)
    return (
        f"csp26-{compound}-{origin}", compound, formation, None, None, json.dumps(elements),
        structure.get_space_group_info(symprec=0.1)[1], structure.to(fmt="cif"), f"csp26 training v{VERSION}: {origin}",
        len(structure), len(elements), energy,
    )


if __name__ == "__main__":
    main()
