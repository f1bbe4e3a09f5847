"""csp26's formation energies: energies per atom against each energy model's own relaxed elemental references.

The references are read from ``data/elemental_<model>.json`` (``tasks.csp.elemental_references``),
computed for the elements of the 26 compounds only.
"""

from __future__ import annotations

from pymatgen.core import Composition, Structure

from crystalbench.api import UserError
from crystalbench.physics.energy_models import EnergyModel


def formation_energy_per_atom(model: EnergyModel, structure: Structure, energy_per_atom: float) -> float:
    """Formation energy per atom (eV) against the model's own relaxed elemental references.

    The references are read from ``data/elemental_<model>.json`` (see
    ``tasks.csp.elemental_references``); NaN in, NaN out.
    """
    return formation_energy(model.name, structure.composition, energy_per_atom)


def formation_energy(model_name: str, composition: Composition, energy_per_atom: float) -> float:
    """``formation_energy_per_atom`` by model name, for callers that hold energies but no loaded model."""
    from crystalbench.tasks.csp.elemental_references import elemental_energies

    references = elemental_energies(model_name)
    fractions = Composition(composition).fractional_composition
    missing = [str(element) for element in fractions if str(element) not in references]
    if missing:
        raise UserError(f"no {model_name} elemental reference for {', '.join(missing)}; csp26 covers only its 26 compounds")
    return float(energy_per_atom - sum(fraction * references[str(el)] for el, fraction in fractions.items()))
