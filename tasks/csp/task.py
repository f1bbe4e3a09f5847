"""``csp26``: crystal structure prediction of 26 binary compounds and elements (LCOM §2–3, §6 Table 1).

One problem per compound. A trial of compound X and seed s starts from X's
random stable initial structure for s (``tasks.csp.initial``) and proposes
structures of X's composition; the oracle is the energy per atom of each
proposal as proposed (a single point of the energy model, served per node by
``tasks.csp.energy_service``). When the budget is spent, the trial's best
valid proposal (as in GN-OA/RAS: the search scores unrelaxed candidates, the
best one is then relaxed) is relaxed with the same model (bounded FIRE steps) and judged by
``tasks.csp.success`` against the reference table of that model. With
``judge: gpaw`` the sweep then judges every trial's relaxed structure by a GPAW
single point against GPAW's reference table (``harness.judging``: once per
distinct structure, fanned out over the cluster; ``crystalbench judge`` does the
same for a finished run).

The problem's dataset is the compound's share of the csp26 training data
(``tasks.csp.training_data``: sub-optimal structures only). An invalid proposal
scores ``INVALID_MARGIN`` above the worst energy known for the compound.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import ClassVar

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from crystalbench.api import (
    ArtifactStore,
    Dataset,
    FinalResult,
    Judgement,
    LabelledSet,
    Oracle,
    Problem,
    Task,
    UserError,
    capabilities,
)
from crystalbench.physics.energy_models import ENERGY_MODELS, EnergyModel, get_energy_model
from crystalbench.tasks.csp.compounds import COMPOUNDS, reference
from crystalbench.tasks.csp.energy_service import EnergyOracle, start_energy_services
from crystalbench.tasks.csp.formation import formation_energy_per_atom
from crystalbench.tasks.csp.initial import initial_structure
from crystalbench.tasks.csp.reference_table import reference_energy
from crystalbench.tasks.csp.success import Verdict
from crystalbench.tasks.csp.success import judge as judge_verdict
from crystalbench.tasks.csp.training_data import labelled_crystals, load_training_data, prepare_training_data

INVALID_MARGIN = 10.0
"""eV/atom above the worst known energy: an invalid proposal must never look better than an unrelaxed
random candidate, which can sit several eV/atom above the relaxed structures."""
GPAW_SYMPREC = 0.1


class Csp26(Task):
    """26 problems, one per compound; minimise the energy per atom of the proposed structure."""

    name: ClassVar[str] = "csp26"
    default_budget: ClassVar[int] = 200
    offers: ClassVar[frozenset[str]] = frozenset({
        capabilities.LABELLED_TRAINING_SET, capabilities.FIXED_COMPOSITION, capabilities.SAMPLES_STRUCTURES,
        capabilities.FINAL_RELAXATION,
    })
    judges: ClassVar[tuple[str, ...]] = ("gpaw",)

    def __init__(
        self,
        energy_model: str = "chgnet",
        judge: str | None = None,
        relax_steps: int = 500,
        relax_fmax: float = 0.05,
        service: dict | None = None,
    ):
        if energy_model not in ENERGY_MODELS:
            raise ValueError(f"unknown energy_model {energy_model!r}; known: {', '.join(ENERGY_MODELS)}")
        if judge is not None and judge not in self.judges:
            raise ValueError(f"unknown judge {judge!r}; known: {', '.join(self.judges)}")
        if "gpaw" in (energy_model, judge) and importlib.util.find_spec("gpaw") is None:
            raise ValueError("GPAW (the `dft` extra) is not installed: run `make dft`, which installs its build "
                             "libraries and then pip install -e '.[dft]'")
        if relax_steps < 1 or relax_fmax <= 0:
            raise ValueError("relax_steps must be positive and relax_fmax > 0")
        unknown = set(service or {}) - {"num_cpus", "num_gpus"}
        if unknown:
            raise ValueError(f"service accepts num_cpus and num_gpus, not {', '.join(sorted(unknown))}")
        self.energy_model = energy_model
        self.judge = judge
        self.relax_steps = int(relax_steps)
        self.relax_fmax = float(relax_fmax)
        self.service = dict(service or {})

    def problem_names(self) -> list[str]:
        return list(COMPOUNDS)

    def prepare(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None) -> Path:
        """The training data of each compound in ``problems`` (None: all 26), labelled with the energy model."""
        return prepare_training_data(store, self.energy_model, problems or COMPOUNDS)

    def labelled_set(self, store: ArtifactStore, dataset: Dataset, problems: Sequence[str] | None = None
                     ) -> LabelledSet:
        """The training structures of ``problems`` (None: all 26), labelled with the energy model's energy per atom."""
        compounds = tuple(problems or COMPOUNDS)
        unknown = [c for c in compounds if c not in COMPOUNDS]
        if unknown:
            raise UserError(f"task csp26 has no problem(s) {', '.join(unknown)}; known: {', '.join(COMPOUNDS)}")
        index = self.prepare(store, dataset, compounds)
        return LabelledSet(source=index.name, direction="min", problems=compounds,
                           loader=partial(labelled_crystals, index, compounds))

    def scoring_oracle(self, problem: str) -> Oracle:
        """The energy model's energy per atom, as the trials' oracle gives it."""
        return EnergyOracle(self.energy_model)

    def start_services(self) -> list:
        """One energy-model actor per node, shared by that node's trials (the sweep keeps the handles)."""
        return start_energy_services(self.energy_model, **self.service)

    def requested_judges(self) -> tuple[str, ...]:
        return (self.judge,) if self.judge else ()

    def load_problem(self, name: str, dataset: Dataset, artifact_dir: Path, seed: int = 0) -> Problem:
        if name not in COMPOUNDS:
            raise UserError(f"task csp26 has no problem {name!r}; known: {', '.join(COMPOUNDS)}")
        training = load_training_data(artifact_dir, name)
        start = initial_structure(name, seed, self.energy_model)
        known = np.append(training.labels("energy_per_atom"), start.energy_per_atom)
        finite = known[np.isfinite(known)]
        ref = reference_energy(name, self.energy_model)
        if self.judge is not None:
            reference_energy(name, self.judge)  # a missing judge reference fails now, not after the budget
        return Problem(
            task=self.name,
            name=name,
            direction="min",
            oracle=EnergyOracle(self.energy_model),
            dataset=training,
            initial_structures=[start.structure],
            initial_values=np.array([start.energy_per_atom]),
            invalid_penalty=float(finite.max()) + INVALID_MARGIN,
            default_budget=self.default_budget,
            info={
                "energy_model": self.energy_model,
                "judge": self.judge,
                "n_atoms": len(start.structure),
                "training_size": len(training),
                "start_energy_per_atom": start.energy_per_atom,
                "start_converged": start.converged,
                "reference_prototype": ref.prototype,
                "reference_energy_per_atom": ref.energy_per_atom,
                "reference_formation_energy": ref.formation_energy_per_atom,
            },
            finalize=lambda structure: self.finalize(name, structure, start.structure),
            sample=lambda n, rng: [_random_of(start.structure, rng) for _ in range(n)],
        )

    def finalize(self, compound: str, structure: Structure, start: Structure) -> FinalResult:
        """Relax the trial's best valid proposal with the energy model and judge it by the same model.

        The seed's start is judged too (``start_*``): a relaxed random start of a
        2-atom cell is often the ground state already, and a method deserves credit
        only for what it adds to that.
        """
        model = get_energy_model(self.energy_model)
        relaxed = model.relax(structure, fmax=self.relax_fmax, steps=self.relax_steps)
        formation, verdict = _judged(model, compound, relaxed.structure, relaxed.energy_per_atom)
        _, start_verdict = _judged(model, compound, start, float(model.energy_per_atom([start])[0]))
        return FinalResult(structure=relaxed.structure, own=Judgement(
            value=relaxed.energy_per_atom,
            criteria={"energy_success": verdict.energy_success, "strict_success": verdict.strict_success,
                      "start_energy_success": start_verdict.energy_success,
                      "start_strict_success": start_verdict.strict_success},
            matched={"strict_success": verdict.matched},
            metrics={"relax_converged": relaxed.converged, "relax_steps": relaxed.steps,
                     "relax_seconds": relaxed.seconds, "formation_energy": formation,
                     "relative_error": verdict.relative_error, "delta_e": verdict.delta_e},
        ))

    def judge_structure(self, problem: str, structure: Structure, judge: str,
                        artifact_dir: Path | None = None) -> Judgement:
        """GPAW single point on ``structure`` (symmetrised first), judged against GPAW's reference table."""
        if judge not in self.judges:
            raise UserError(f"task csp26 has no judge {judge!r}; known: {', '.join(self.judges)}")
        if problem not in COMPOUNDS:
            raise UserError(f"task csp26 has no problem {problem!r}")
        reference_energy(problem, "gpaw")  # a missing reference fails before the single point, not after
        gpaw = get_energy_model("gpaw")
        t0 = time.perf_counter()
        structure = _symmetrised(structure)
        energy = float(gpaw.energy_per_atom([structure])[0])
        formation, verdict = _judged(gpaw, problem, structure, energy)
        return Judgement(
            value=energy,
            criteria={"energy_success": verdict.energy_success, "strict_success": verdict.strict_success},
            matched={"strict_success": verdict.matched},
            metrics={"seconds": time.perf_counter() - t0, "formation_energy": formation,
                     "relative_error": verdict.relative_error, "delta_e": verdict.delta_e},
        )


def _judged(model: EnergyModel, compound: str, structure: Structure, energy: float) -> tuple[float, Verdict]:
    """The formation energy per atom of ``structure`` (of ``energy`` per atom under ``model``) and its verdict
    against ``model``'s reference for ``compound``."""
    ref = reference_energy(compound, model.name)
    formation = formation_energy_per_atom(model, structure, energy)
    verdict = judge_verdict(energy, formation, ref.energy_per_atom, ref.formation_energy_per_atom, structure,
                            _reference_structures(compound), len(structure.composition.elements) == 1)
    return formation, verdict


def _random_of(start: Structure, rng: np.random.Generator) -> Structure:
    from crystalbench.tasks.csp.random_structures import random_structure

    species = {el.symbol: int(n) for el, n in start.composition.element_composition.items()}
    return random_structure(species, rng)


def _reference_structures(compound: str) -> dict[str, Structure]:
    ref = reference(compound)
    found = {"experimental": ref.structure}
    if ref.judge_structure is not None:
        found["judge"] = ref.judge_structure
    return found


def _symmetrised(structure: Structure, symprec: float = GPAW_SYMPREC) -> Structure:
    """The standard primitive cell of ``structure`` at ``symprec`` (Å), idealised, or the structure itself.

    An MLIP relaxation to ``fmax`` 0.05 leaves distortions that break the symmetry GPAW
    uses to reduce its k-points. A relaxed rocksalt NaCl of this harness has a =
    4.05, 4.05, 4.00 Å and angles 59.4–60.1°: at symprec 0.01 it stays triclinic and
    its single point takes 88 s; at 0.1 it is Fm-3m, takes 12 s and lands 0.01 meV/atom
    from GPAW's reference energy. Of the 312 final structures of the csp26 Table 1 run, 185 have more than
    inversion symmetry at 0.01 and 284 at 0.1. The energy change is far below the
    criteria's resolution.
    """
    try:
        return SpacegroupAnalyzer(structure, symprec=symprec).get_primitive_standard_structure()
    except (TypeError, ValueError):  # spglib finds no cell: judge the structure as it is
        return structure
