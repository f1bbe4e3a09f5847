"""The csp26 reference table: per compound and energy model, the structure a trial must match or beat.

The reference of a compound under a model is the LOWER in that model's energy of
(a) the experimental ground state and (b) the GPAW judge's lowest polymorph, each
relaxed by the model itself. The rows are those of ``data/fidelity_<model>.json``
(written by ``python -m crystalbench.tasks.csp.fidelity --model <model>``); the judge's
polymorph comes from ``data/references.json``. Scoring against the lower of the
two means a model is never asked to beat a structure it considers unreachable
only because experiment and PBE disagree (LiCl, CsCl under PBE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from pymatgen.core import Structure

from crystalbench.api import UserError
from crystalbench.physics.energy_models import ENERGY_MODELS
from crystalbench.tasks.csp.compounds import reference
from crystalbench.tasks.csp.fidelity import path_for
from crystalbench.tasks.csp.formation import formation_energy


@dataclass(frozen=True)
class ReferenceEnergy:
    """One compound's reference under one energy model."""

    structure: Structure
    """Relaxed by the model."""
    energy_per_atom: float
    formation_energy_per_atom: float
    """Against the model's current elemental references (a UserError when they are missing)."""
    prototype: str


def reference_energy(compound: str, model: str) -> ReferenceEnergy:
    """The lower of the experimental structure and the judge's lowest polymorph, relaxed by ``model``."""
    if model not in ENERGY_MODELS:
        raise UserError(f"unknown energy model {model!r}; known: {', '.join(ENERGY_MODELS)}")
    ref = reference(compound)
    rows = _rows(model).get(compound)
    if rows is None:
        raise UserError(f"no {model} reference for {compound} yet; run: python -m crystalbench.tasks.csp.fidelity --model {model}")
    candidates = [name for name in dict.fromkeys([ref.prototype, ref.judge_prototype])
                  if name is not None and rows.get(name, {}).get("energy_per_atom") is not None]
    if not candidates:
        raise UserError(f"{model} has no finite energy for the reference polymorphs of {compound}")
    best = min(candidates, key=lambda name: rows[name]["energy_per_atom"])
    row = rows[best]
    structure = Structure.from_str(row["cif"], fmt="cif")
    return ReferenceEnergy(
        structure=structure,
        energy_per_atom=row["energy_per_atom"],
        formation_energy_per_atom=formation_energy(model, structure.composition, row["energy_per_atom"]),
        prototype=best,
    )


@cache
def _rows(model: str) -> dict[str, dict]:
    path = path_for(model)
    return json.loads(path.read_text())["compounds"] if path.exists() else {}
