"""A task's labelled training set as a method's ``prepare`` step reads it (capability ``labelled_training_set``).

Offline and generative methods (LCOM, SL, the CD-VAE) learn from known crystals labelled
with the task's objective. They get them through ``TaskView.labelled_set`` instead of
importing a task: a ``LabelledSet`` names its labels by a content digest (``source``),
cheap to compute, so a method can key its artifact before loading anything, and loads
the crystals themselves (``load``) only when it has to build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure

from crystalbench.api.problem import Direction


@dataclass(frozen=True)
class LabelledCrystals:
    """Known crystals with finite task values, grouped by problem in the order the set was asked for."""

    ids: list[str]
    """(N,) stable identifiers (dataset material ids)."""
    problems: list[str]
    """(N,) the problem each crystal belongs to (property tasks: their one problem)."""
    structures: list[Structure]
    """(N,) the crystals."""
    values: np.ndarray
    """(N,) float64 task values, all finite, in oracle units."""


@dataclass(frozen=True)
class LabelledSet:
    """A handle on a task's labelled crystals: what they are named by, and how to load them."""

    source: str
    """Content digest of the labels (the task artifact they come from): a method's artifact key names it."""
    direction: Direction
    """Whether lower (``min``) or higher (``max``) values are better."""
    problems: tuple[str, ...]
    """The problems whose crystals the set holds, in order."""
    loader: Callable[[], LabelledCrystals]
    """Loads the crystals (a picklable callable, e.g. a ``functools.partial``)."""

    def load(self) -> LabelledCrystals:
        """The crystals of ``problems`` with their values (may take seconds: parses every structure)."""
        return self.loader()
