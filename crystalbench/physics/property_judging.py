"""The ``mlip`` judge of a property task: its trials' best proposals relaxed and re-scored by an interatomic potential.

A property task (formation energy, electronegativity, a plugin's band gap) mixes in
``MlipJudged`` and says how a relaxed crystal scores on its objective
(``verified_value``) and what a verified crystal must also satisfy
(``verified_extra``). The judging stage (``harness.judging``) then scores each
trial's ``judge_top_k`` best distinct proposals; each verdict is a ``Judgement`` with

* ``value``: the objective of the relaxed crystal (formation energy: its MLIP formation
  energy; electronegativity: its mean Pauling electronegativity, unchanged by relaxing);
* criteria ``structurally_valid``, ``compositionally_valid``, ``matches_proposal``,
  ``stable`` (≤ 0.1 eV/atom above the MLIP hull), ``novel``, and ``verified``: valid
  both ways, still the proposal after relaxing, and ``verified_extra``;
* metrics ``formation_energy``, ``e_above_hull``, ``volume_change`` and the relaxation's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar

from pymatgen.core import Structure

from crystalbench.api import ArtifactStore, Dataset, Judgement, UserError
from crystalbench.physics.mlip_judge import MlipJudge, prepare_mlip_reference, stable

MLIP = "mlip"
VERIFIED = "verified"


class MlipJudged:
    """Mixin for a ``Task``: the ``mlip`` judge. The task sets ``judge`` (None or "mlip") and ``judge_top_k``."""

    judges: ClassVar[tuple[str, ...]] = (MLIP,)
    judge: str | None = None
    judge_top_k: int = 10
    judge_model: str = "chgnet"

    def requested_judges(self) -> tuple[str, ...]:
        return (self.judge,) if self.judge else ()

    def judged_proposals(self, judge: str) -> int:
        return self.judge_top_k

    def prepare_judge(self, store: ArtifactStore, dataset: Dataset, judge: str) -> Path:
        self._check(judge)
        return prepare_mlip_reference(store, dataset, self.judge_model)

    def judge_structure(self, problem: str, structure: Structure, judge: str,
                        artifact_dir: Path | None = None) -> Judgement:
        self._check(judge)
        if artifact_dir is None:
            raise UserError(f"the {MLIP} judge needs its prepared reference (prepare_judge)")
        verdict = _judge(str(artifact_dir), self.judge_model)(structure)
        relaxed = verdict.pop("relaxed")
        criteria = {"structurally_valid": verdict.pop("structurally_valid"),
                    "compositionally_valid": verdict.pop("compositionally_valid"),
                    "matches_proposal": verdict.pop("matches_proposal"),
                    "stable": stable(verdict["e_above_hull"]), "novel": verdict.pop("novel")}
        criteria[VERIFIED] = (criteria["structurally_valid"] and criteria["compositionally_valid"]
                              and criteria["matches_proposal"] and self.verified_extra(verdict["formation_energy"]))
        return Judgement(value=self.verified_value(relaxed, verdict["formation_energy"]), criteria=criteria,
                         metrics=verdict, structure=relaxed)

    def verified_value(self, relaxed: Structure, formation_energy: float) -> float:
        """The task's objective of a relaxed crystal of MLIP formation energy ``formation_energy``."""
        raise NotImplementedError

    def verified_extra(self, formation_energy: float) -> bool:
        """What else a verified crystal must satisfy; nothing by default."""
        return True

    def _check(self, judge: str) -> None:
        if judge != MLIP:
            raise UserError(f"task {getattr(self, 'name', '?')} has no judge {judge!r}; known: {MLIP}")


@cache
def _judge(reference_dir: str, model: str) -> MlipJudge:
    """One loaded judge per process and reference (the hull and the model load once)."""
    return MlipJudge(Path(reference_dir), model)
