"""What a task's problems offer and a method may require: compatibility is ``method.requires <= task.offers``.

A method never names a task; it names the capabilities it needs, and a task lists the
ones its problems have. A skipped (method, task) pair says which capability is missing.
"""

from __future__ import annotations

LABELLED_TRAINING_SET = "labelled_training_set"
"""Known crystals labelled with the task's objective, in the task's direction (property tasks: the
dataset rows with the task's oracle value; csp26: each compound's training structures with their energies)."""

OPEN_COMPOSITION = "open_composition"
"""Any composition is a candidate: a problem's search space is the dataset's whole chemistry."""

FIXED_COMPOSITION = "fixed_composition"
"""Each problem fixes the composition (a structure-prediction problem); candidates must keep it."""

SAMPLES_STRUCTURES = "samples_structures"
"""A problem draws random candidates of its own search space (``ProblemView.sample``)."""

FINAL_RELAXATION = "final_relaxation"
"""The trial's best structure is relaxed and judged after the search (``Problem.finalize``)."""

ALL = frozenset({LABELLED_TRAINING_SET, OPEN_COMPOSITION, FIXED_COMPOSITION, SAMPLES_STRUCTURES, FINAL_RELAXATION})
