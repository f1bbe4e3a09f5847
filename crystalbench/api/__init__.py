"""The contract: everything a method or task plugin touches, and nothing of the engine (docs/architecture.md).

A plugin imports from here only. The engine (``crystalbench.harness``) imports this
module too, never a particular method or task: those are found through entry points
(``crystalbench.api.registry``). The leaf modules re-exported here (the dataset, the
artifact store, structures' validity, errors, seeding) import neither side.
"""

from crystalbench.api import capabilities
from crystalbench.api.final import FinalResult, Judgement
from crystalbench.api.labelled_set import LabelledCrystals, LabelledSet
from crystalbench.api.method import Exhausted, Method
from crystalbench.api.problem import Direction, Oracle, Problem, ProblemView
from crystalbench.api.registry import get_method, get_task, method_names, register_method, register_task, task_names
from crystalbench.api.task import Task, TaskView, initial_set, invalid_penalty
from crystalbench.harness.crystal import (
    MIN_DISTANCE_A,
    MIN_VOLUME_PER_ATOM_A3,
    from_cif,
    is_compositionally_valid,
    is_structurally_plausible,
    is_structurally_valid,
    is_valid,
    to_cif,
)
from crystalbench.harness.dataset import Dataset
from crystalbench.harness.errors import UserError
from crystalbench.harness.history import atomic_write_text, read_results
from crystalbench.harness.seeding import name_entropy
from crystalbench.harness.store import ArtifactStore, default_artifact_root, local_artifact

__all__ = [
    "MIN_DISTANCE_A", "MIN_VOLUME_PER_ATOM_A3", "ArtifactStore", "Dataset", "Direction", "Exhausted", "FinalResult", "Judgement",
    "LabelledCrystals", "LabelledSet", "Method", "Oracle", "Problem", "ProblemView", "Task", "TaskView", "UserError",
    "atomic_write_text", "capabilities", "default_artifact_root", "from_cif", "get_method", "get_task", "initial_set",
    "invalid_penalty", "is_compositionally_valid", "is_structurally_plausible", "is_structurally_valid", "is_valid",
    "local_artifact", "method_names", "name_entropy", "read_results", "register_method", "register_task",
    "task_names", "to_cif",
]
