"""Elemental reference energies for csp26 formation energies, one set per energy model.

    python -m crystalbench.tasks.csp.elemental_references --model chgnet|m3gnet|gpaw

relaxes each element's reference with that model and writes
``data/elemental_<model>.json`` (energy per atom, relaxed structure as CIF).

References (all relaxed with the same model that scores the compounds):

* Metals in their ambient-pressure ground states, starting from ASE's
  reference lattice constants (``ase.build.bulk``): Li, Na, K, Rb, Cs, Ba bcc;
  Be, Mg, Zn, Cd hcp; Ca, Sr fcc. Si diamond; C graphite (the csp26 choice, see
  ``compounds.py``).
* F, Cl, O: the isolated diatomic molecule in a 10 Å box (O₂ as the triplet,
  initial moments 1 μB per atom; GPAW then runs spin-polarised, the MLIPs ignore
  spin). These are the standard states (gases), and a dimer costs GPAW one
  Γ-point calculation, whereas the molecular crystals have 8+ atoms and are bound
  by dispersion that neither PBE nor the MLIPs' training describes well.
* S: the isolated S₈ crown molecule in a 12 Å box (S–S 2.05 Å, S–S–S 108°).
  α-sulfur has 32 atoms in its primitive cell; its S₈ rings are held together
  by dispersion (sublimation ≈ 0.13 eV per S atom experimentally, mostly missing
  in dispersion-free PBE), so the molecule is the tractable reference. Formation
  energies of the sulfides are therefore more negative than against α-S by up to
  ≈ 0.07 eV/atom for a 1:1 sulfide; the ranking of polymorphs is unaffected.

MLIPs relax positions and cell (molecules: positions only) with FIRE; GPAW uses
the lattice-constant (bond-length) scan of ``tasks.csp.lattice_scan``, with a
Γ-point k-grid for the molecules.
"""

from __future__ import annotations

import argparse
import json
import math
from functools import cache
from pathlib import Path

import numpy as np
from ase.build import bulk
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from crystalbench.api import UserError
from crystalbench.physics.energy_models import ENERGY_MODELS, EnergyModel, Relaxation, get_energy_model, gpaw_calculator
from crystalbench.tasks.csp import shipped_json
from crystalbench.tasks.csp.compounds import graphite, reference

DATA = Path(__file__).parent / "data"

METALS: tuple[str, ...] = ("Li", "Na", "K", "Rb", "Cs", "Be", "Mg", "Ca", "Sr", "Ba", "Zn", "Cd")
DIMERS: dict[str, tuple[float, float]] = {"F": (1.412, 0.0), "Cl": (1.988, 0.0), "O": (1.208, 1.0)}
"""Element -> (experimental bond length Å, initial magnetic moment per atom μB)."""
DIMER_BOX = 10.0
S8_BOX = 12.0
S8_BOND, S8_ANGLE = 2.05, 108.0
ELEMENTS: tuple[str, ...] = (*METALS, *DIMERS, "S", "C", "Si")


def elemental_structure(element: str) -> tuple[Structure, bool]:
    """The starting reference structure of an element and whether it is a molecule in a box."""
    if element in METALS:
        return AseAtomsAdaptor.get_structure(bulk(element)), False
    if element in DIMERS:
        bond, magmom = DIMERS[element]
        centre = DIMER_BOX / 2
        coords = [[centre, centre, centre - bond / 2], [centre, centre, centre + bond / 2]]
        return (
            Structure(Lattice.cubic(DIMER_BOX), [element] * 2, coords, coords_are_cartesian=True,
                      site_properties={"magmom": [magmom, magmom]}),
            True,
        )
    if element == "S":
        return _s8(), True
    if element == "C":
        return graphite(2.4612, 6.7079, "C"), False
    if element == "Si":
        return reference("Si").structure, False
    raise UserError(f"no csp26 elemental reference for {element!r}; known: {', '.join(ELEMENTS)}")


def _s8() -> Structure:
    """S₈ crown (D4d): two squares of radius r, ±h, rotated by 45°, from the bond length and angle."""
    r = S8_BOND * math.sqrt(1 - math.cos(math.radians(S8_ANGLE)))
    h = math.sqrt(S8_BOND**2 - 2 * r**2 * (1 - math.cos(math.pi / 4))) / 2
    centre = S8_BOX / 2
    coords = [
        [centre + r * math.cos(k * math.pi / 4), centre + r * math.sin(k * math.pi / 4), centre + (h if k % 2 else -h)]
        for k in range(8)
    ]
    return Structure(Lattice.cubic(S8_BOX), ["S"] * 8, coords, coords_are_cartesian=True)


def relax_element(model: EnergyModel, element: str) -> Relaxation:
    """Relax one element's reference with ``model`` (GPAW: lattice/bond scan; MLIPs: FIRE)."""
    from crystalbench.tasks.csp.lattice_scan import scan_relax

    structure, molecule = elemental_structure(element)
    if model.name == "gpaw":
        calc_kpts = (1, 1, 1) if molecule else None

        def energy(structures: list[Structure]) -> np.ndarray:
            calc = gpaw_calculator(kpts=calc_kpts)
            return np.array([_gpaw_energy(calc, s) for s in structures])

        return scan_relax(energy, structure, molecule=molecule)
    return model.relax(structure, fmax=0.02, steps=500, relax_cell=not molecule)


def _gpaw_energy(calc, structure: Structure) -> float:
    try:
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = calc
        energy = atoms.get_potential_energy() / len(atoms)
    except Exception:  # noqa: BLE001
        return math.nan
    return float(energy) if math.isfinite(energy) else math.nan


def path_for(model_name: str) -> Path:
    """Where the elemental references of a model are shipped."""
    return DATA / f"elemental_{model_name}.json"


@cache
def elemental_energies(model_name: str) -> dict[str, float]:
    """Element -> relaxed reference energy per atom (eV) under the named model, from the shipped data."""
    path = path_for(model_name)
    if not path.exists():
        raise UserError(f"no elemental references for {model_name}; run: python -m crystalbench.tasks.csp.elemental_references --model {model_name}")
    entries = json.loads(path.read_text())["elements"]
    return {element: entry["energy_per_atom"] for element, entry in entries.items() if entry["energy_per_atom"] is not None}


def compute(model: EnergyModel, elements: tuple[str, ...] = ELEMENTS) -> Path:
    """Relax the references missing from the model's file and write it after each element (resumable).

    Several runs over disjoint elements may share the file (``shipped_json``).
    """
    path = path_for(model.name)
    default = {
        "model": model.name,
        "regenerate": f"python -m crystalbench.tasks.csp.elemental_references --model {model.name}",
        "elements": {},
    }
    for element in elements:
        if element in shipped_json.read(path, default)["elements"]:
            continue
        result = relax_element(model, element)
        _, molecule = elemental_structure(element)
        row = {
            "energy_per_atom": result.energy_per_atom if math.isfinite(result.energy_per_atom) else None,
            "molecule": molecule,
            "converged": result.converged,
            "steps": result.steps,
            "seconds": round(result.seconds, 2),
            "cif": result.structure.to(fmt="cif"),
        }
        shipped_json.set_entry(path, default, "elements", element, row)
        print(f"{model.name} {element}: {result.energy_per_atom:.4f} eV/atom converged={result.converged} "
              f"({result.seconds:.1f} s)", flush=True)
    elemental_energies.cache_clear()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Relax the csp26 elemental references with one energy model.")
    parser.add_argument("--model", choices=ENERGY_MODELS, default="chgnet")
    parser.add_argument("--elements", nargs="+", choices=ELEMENTS, default=list(ELEMENTS))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(compute(get_energy_model(args.model), tuple(args.elements)))


if __name__ == "__main__":
    main()
