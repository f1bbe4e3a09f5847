"""The composition descriptor c of the csp26 surrogate: the element-fraction vector of a crystal."""

from __future__ import annotations

import torch
from pymatgen.core import Structure
from torch import Tensor

MAX_Z = 100
"""Elements H (Z = 1) to Fm (Z = 100): one fraction each."""


def element_fractions(structures: list[Structure]) -> Tensor:
    """Atom fractions of each element, (N, MAX_Z); column Z − 1 holds element Z's fraction, rows sum to 1."""
    fractions = torch.zeros(len(structures), MAX_Z)
    for i, structure in enumerate(structures):
        for element, fraction in structure.composition.fractional_composition.element_composition.items():
            if element.Z > MAX_Z:
                raise ValueError(f"{structure.composition.reduced_formula}: element {element} beyond Z={MAX_Z}")
            fractions[i, element.Z - 1] = float(fraction)
    return fractions
