"""The interatomic-potential rung of the fidelity ladder: a proposal relaxed and re-scored by an MLIP.

A property task's proxy is cheap and exploitable; this judge asks what a physicist
would: relax the proposal (FIRE on a ``FrechetCellFilter``, as csp26 relaxes), then

* its formation energy per atom under the model, against chemical potentials fitted on
  the dataset's relaxed energies (``chemical_potentials``; the reference artifact);
* its energy above the convex hull of the dataset's crystals under the same model, in
  its own chemical system (pymatgen ``PhaseDiagram`` of the dataset crystals whose
  elements it contains, plus the elements at zero; one hull per system, cached);
* whether the relaxed crystal still matches the proposal (``StructureMatcher``, default
  tolerances), and the relaxation's volume change;
* novelty: no dataset crystal of the same reduced formula matches it;
* structural and compositional validity of the proposal (``harness.crystal``).

The reference (chemical potentials, hull entries, the dataset's structures by formula)
is one artifact per (dataset, model), built from ``dataset_energies``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Composition, Element, Structure

from crystalbench.api import (
    ArtifactStore,
    Dataset,
    from_cif,
    is_compositionally_valid,
    is_structurally_valid,
)
from crystalbench.physics.chemical_potentials import ChemicalPotentials
from crystalbench.physics.dataset_energies import (
    RELAX_FMAX,
    RELAX_STEPS,
    load_dataset_energies,
    prepare_dataset_energies,
)
from crystalbench.physics.energy_models import get_energy_model

VERSION = 1
LABEL = "formation_energy_per_atom"
STABLE_E_HULL = 0.1
"""eV/atom above the MLIP hull below which a crystal counts as stable (the S.U.N. convention)."""
POTENTIALS_FILE = "chemical_potentials.json"
ENTRIES_FILE = "hull_entries.parquet"


def prepare_mlip_reference(store: ArtifactStore, dataset: Dataset, model: str = "chgnet") -> Path:
    """The judge's reference for ``dataset`` under ``model`` (built once; needs the dataset's relaxed energies)."""
    energies_dir = prepare_dataset_energies(store, dataset, model)

    def build(out: Path) -> None:
        energies = load_dataset_energies(energies_dir, dataset)
        compositions = [s.composition for s in dataset.structures()]
        relaxed = energies["relaxed"].to_numpy()
        potentials = ChemicalPotentials.fit(compositions, relaxed, dataset.labels(LABEL))
        (out / POTENTIALS_FILE).write_text(json.dumps(potentials.mu, indent=1, sort_keys=True))
        pl.DataFrame({"formula": [c.reduced_formula for c in compositions],
                      "composition": [c.formula for c in compositions],
                      "formation_energy": potentials.formation_energies(compositions, relaxed),
                      "cif": dataset.table["cif"]}).write_parquet(out / ENTRIES_FILE)

    key = {"version": VERSION, "dataset": dataset.digest, "model": model, "energies": energies_dir.name}
    return store.get_or_build("physics/mlip_reference", key, build)


class MlipJudge:
    """Judges structures against a prepared reference (load once per process, call per structure)."""

    def __init__(self, reference_dir: Path, model: str = "chgnet"):
        reference_dir = Path(reference_dir)
        self.model = get_energy_model(model)
        self.potentials = ChemicalPotentials(json.loads((reference_dir / POTENTIALS_FILE).read_text()))
        entries = pl.read_parquet(reference_dir / ENTRIES_FILE).filter(pl.col("formation_energy").is_finite())
        self.by_formula: dict[str, list[str]] = {}
        for formula, cif in zip(entries["formula"], entries["cif"], strict=True):
            self.by_formula.setdefault(formula, []).append(cif)
        self.entries = [PDEntry(Composition(c), e * Composition(c).num_atoms)
                        for c, e in zip(entries["composition"], entries["formation_energy"], strict=True)]
        self.hulls: dict[frozenset[Element], PhaseDiagram] = {}
        self.matcher = StructureMatcher()

    def __call__(self, structure: Structure) -> dict:
        """The verdict's numbers on ``structure`` (a proposal): see the module docstring."""
        structural, compositional = is_structurally_valid(structure), is_compositionally_valid(structure)
        relaxed = self.model.relax(structure, fmax=RELAX_FMAX, steps=RELAX_STEPS)
        formation = self.potentials.formation_energy(structure.composition, relaxed.energy_per_atom)
        finite = math.isfinite(formation)
        return {
            "relaxed": relaxed.structure,
            "formation_energy": formation,
            "e_above_hull": self.e_above_hull(relaxed.structure.composition, formation) if finite else math.nan,
            "matches_proposal": bool(finite and self.matcher.fit(structure, relaxed.structure)),
            "volume_change": relaxed.structure.volume / structure.volume - 1 if finite else math.nan,
            "novel": self.novel(relaxed.structure),
            "structurally_valid": structural,
            "compositionally_valid": compositional,
            "relax_converged": relaxed.converged,
            "relax_steps": relaxed.steps,
            "relax_seconds": relaxed.seconds,
        }

    def e_above_hull(self, composition: Composition, formation_energy: float) -> float:
        """Energy above the dataset's MLIP hull in ``composition``'s chemical system (eV/atom).

        The elements sit at zero formation energy, so a system without any dataset crystal
        still has a hull (its elements'); a full-dimensional hull of every element would
        not be computable.
        """
        system = frozenset(composition.elements)
        if system not in self.hulls:
            inside = [e for e in self.entries if set(e.composition.elements) <= system]
            self.hulls[system] = PhaseDiagram(inside + [PDEntry(Composition({el: 1}), 0.0) for el in system])
        entry = PDEntry(composition, formation_energy * composition.num_atoms)
        return float(self.hulls[system].get_decomp_and_e_above_hull(entry, allow_negative=True)[1])

    def novel(self, structure: Structure) -> bool:
        """No dataset crystal of the same reduced formula matches ``structure``."""
        known = self.by_formula.get(structure.composition.reduced_formula, [])
        return not any(self.matcher.fit(structure, from_cif(cif)) for cif in known)


def stable(e_above_hull: float) -> bool:
    """Within ``STABLE_E_HULL`` of the hull (False for NaN)."""
    return bool(np.isfinite(e_above_hull) and e_above_hull <= STABLE_E_HULL)
