"""Convergence of GPAW/PBE polymorph energy differences in plane-wave cutoff and k-point density.

For three pairs whose PBE ordering is close or contested — NaCl rocksalt vs CsCl type,
ZnO wurtzite vs zinc blende, LiCl rocksalt vs wurtzite — the energy difference
per atom at the starting geometries of ``tasks.csp.compounds.polymorphs`` is
computed on a cutoff ladder (fixed k density) and on a k-density ladder (fixed
cutoff). Results are appended per calculation, so an interrupted run resumes.

    OMP_NUM_THREADS=1 python benchmarks/gpaw_convergence.py [--out benchmarks/results/gpaw_convergence.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pymatgen.io.ase import AseAtomsAdaptor

from tasks.csp.compounds import polymorphs
from tasks.csp.energy_models import gpaw_calculator

PAIRS = (("NaCl", "rocksalt", "cesium_chloride"), ("ZnO", "wurtzite", "zinc_blende"), ("LiCl", "rocksalt", "wurtzite"))
CUTOFFS = (300, 400, 500, 600)
KPOINT_DENSITIES = (2.0, 3.0, 4.0, 6.0)
FIXED_DENSITY = 4.0
FIXED_CUTOFF = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gpaw_convergence.json"))
    args = parser.parse_args()
    rows = json.loads(args.out.read_text()) if args.out.exists() else []
    done = {(r["compound"], r["polymorph"], r["cutoff"], r["kpoint_density"]) for r in rows}
    settings = [(c, FIXED_DENSITY) for c in CUTOFFS] + [(FIXED_CUTOFF, k) for k in KPOINT_DENSITIES]
    for compound, *names in PAIRS:
        structures = polymorphs(compound)
        for cutoff, density in dict.fromkeys(settings):
            for name in names:
                if (compound, name, cutoff, density) in done:
                    continue
                atoms = AseAtomsAdaptor.get_atoms(structures[name])
                atoms.calc = gpaw_calculator(cutoff=cutoff, kpoint_density=density)
                start = time.perf_counter()
                energy = atoms.get_potential_energy() / len(atoms)
                row = {
                    "compound": compound,
                    "polymorph": name,
                    "cutoff": cutoff,
                    "kpoint_density": density,
                    "energy_per_atom": energy,
                    "seconds": time.perf_counter() - start,
                }
                rows.append(row)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(rows, indent=1) + "\n")
                print(row, flush=True)


if __name__ == "__main__":
    main()
