"""Random stable initial structures of csp26 (LCOM §3): where every trial of a compound and seed starts.

For a compound and seed: the number of atoms of the reference cell, a random P1
lattice and fractional coordinates with a minimum interatomic distance
(``random_structures.random_structure`` in space group 1), relaxed with the
energy model to the nearest local minimum (bounded FIRE steps; a relaxation
that does not converge keeps its last structure and says so).

Seeds 0–9 of the default model are shipped in ``data/initial_<model>.json`` so
sweeps do not pay for them; other seeds and models are generated on first use.
Regenerate the shipped file with ``python -m crystalbench.tasks.csp.initial --model chgnet``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from crystalbench.api import name_entropy
from crystalbench.tasks.csp.compounds import COMPOUNDS, reference
from crystalbench.tasks.csp.random_structures import random_structure

DATA = Path(__file__).with_name("data")
SHIPPED_SEEDS = range(10)
RELAX_FMAX = 0.05
RELAX_STEPS = 300


@dataclass(frozen=True)
class InitialStructure:
    """A relaxed random start: the structure, its energy per atom, and how the relaxation went."""

    structure: Structure
    energy_per_atom: float
    converged: bool
    steps: int
    seconds: float

    def to_json(self) -> dict:
        return {"cif": self.structure.to(fmt="cif"), "energy_per_atom": self.energy_per_atom,
                "converged": self.converged, "steps": self.steps, "seconds": self.seconds}

    @classmethod
    def from_json(cls, record: dict) -> InitialStructure:
        return cls(Structure.from_str(record["cif"], fmt="cif"), float(record["energy_per_atom"]),
                   bool(record["converged"]), int(record["steps"]), float(record["seconds"]))


def initial_rng(compound: str, seed: int) -> np.random.Generator:
    """The generator of one compound's start for one seed (independent of every other pair)."""
    return np.random.default_rng(np.random.SeedSequence([seed, name_entropy(compound)]))


def shipped_path(model: str) -> Path:
    return DATA / f"initial_{model}.json"


def initial_structure(compound: str, seed: int, model: str) -> InitialStructure:
    """The start of ``compound`` for ``seed`` under ``model``: shipped if available, else generated now."""
    path = shipped_path(model)
    if path.is_file():
        record = json.loads(path.read_text()).get(compound, {}).get(str(seed))
        if record is not None:
            return InitialStructure.from_json(record)
    return generate(compound, seed, model)


def generate(compound: str, seed: int, model: str) -> InitialStructure:
    """A random P1 cell with the reference cell's atoms, relaxed with ``model``."""
    from crystalbench.physics.energy_models import get_energy_model

    species = {el.symbol: int(n) for el, n in reference(compound).structure.composition.element_composition.items()}
    start = random_structure(species, initial_rng(compound, seed), space_group=1)
    t0 = time.perf_counter()
    relaxed = get_energy_model(model).relax(start, fmax=RELAX_FMAX, steps=RELAX_STEPS)
    return InitialStructure(relaxed.structure, float(relaxed.energy_per_atom), relaxed.converged, relaxed.steps,
                            time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    """Generate the shipped starts (resumable: compounds × seeds already in the file are kept)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="chgnet")
    parser.add_argument("--seeds", type=int, default=len(SHIPPED_SEEDS))
    parser.add_argument("--compounds", nargs="*", default=list(COMPOUNDS))
    args = parser.parse_args(argv)
    path = shipped_path(args.model)
    table = json.loads(path.read_text()) if path.is_file() else {}
    for compound in args.compounds:
        for seed in range(args.seeds):
            if str(seed) in table.get(compound, {}):
                continue
            start = generate(compound, seed, args.model)
            table.setdefault(compound, {})[str(seed)] = start.to_json()
            path.write_text(json.dumps(table, indent=1, sort_keys=True))
            print(f"{compound} seed {seed}: {start.energy_per_atom:.4f} eV/atom, converged={start.converged}, "
                  f"{start.steps} steps, {start.seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
