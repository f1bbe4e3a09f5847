"""The element vocabulary of the FTCP representation and its elemental-property matrix.

FTCP (Ren et al., Matter 2022) one-hot encodes elements over a fixed
vocabulary and attaches a vector of elemental properties to each element (the
reference code reads CGCNN's 92-value embedding). Here the vocabulary is
hydrogen to plutonium (Z = 1..94, every element of the bundled data) and the
properties are eight pymatgen descriptors, each divided by its maximum over
the vocabulary so that all lie in [0, 1]; a missing value (e.g. the Pauling
electronegativity of a noble gas) is 0.
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
from pymatgen.core import Element

MAX_Z = 94
SYMBOLS: tuple[str, ...] = tuple(Element.from_Z(z).symbol for z in range(1, MAX_Z + 1))
"""Vocabulary order: row ``Z - 1`` of the element one-hot block is element ``Z``."""
PROPERTY_NAMES = ("Z", "group", "row", "electronegativity", "atomic_mass", "atomic_radius", "mendeleev_no", "block")
_BLOCKS = {"s": 1.0, "p": 2.0, "d": 3.0, "f": 4.0}


def _raw(element: Element) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = [
            element.Z,
            element.group,
            element.row,
            element.X,
            element.atomic_mass,
            element.atomic_radius,
            element.mendeleev_no,
            _BLOCKS.get(element.block, 0.0),
        ]
    return [0.0 if v is None or not np.isfinite(float(v)) else float(v) for v in values]


@cache
def property_matrix() -> np.ndarray:
    """Elemental properties scaled to [0, 1], shape (MAX_Z, len(PROPERTY_NAMES)); row ``Z - 1`` is element Z."""
    raw = np.array([_raw(Element.from_Z(z)) for z in range(1, MAX_Z + 1)])
    matrix = raw / raw.max(axis=0, keepdims=True)
    matrix.setflags(write=False)
    return matrix
