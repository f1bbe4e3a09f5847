"""What a trial's finalisation and a judge return: typed, so the engine never needs a task's metric names.

A task whose problems offer ``final_relaxation`` returns a ``FinalResult`` from
``Problem.finalize``: the final structure (csp26: the trial's best proposal, relaxed)
and the ``Judgement`` of the trial's own model on it. A judge (``Task.judge_structure``)
returns another ``Judgement`` of that structure, after the search. The engine stores
them in ``result.json`` (``extra.final``; ``extra.judged.<judge>``), logs their scalars
as ``final.*`` MLflow metrics and tabulates every criterion, without knowing any name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pymatgen.core import Structure

from crystalbench.harness.crystal import from_cif, to_cif
from crystalbench.harness.errors import UserError

Scalar = bool | int | float | str | None


@dataclass(frozen=True)
class Judgement:
    """A model's verdict on a final structure: its objective value, success criteria and other metrics."""

    value: float | None = None
    """The objective of the structure under this model, in the history's units (csp26: energy per atom)."""
    criteria: Mapping[str, bool] = field(default_factory=dict)
    """Success criteria, name → met; the final report gives each a check-mark table (LCOM Table 1)."""
    matched: Mapping[str, str | None] = field(default_factory=dict)
    """Criterion → which reference the structure matched, shown beside a success."""
    metrics: Mapping[str, Scalar] = field(default_factory=dict)
    """Anything else worth keeping (timings, formation energy, the relaxation's convergence)."""
    structure: Structure | None = None
    """The structure as this model left it, where it moved it (the MLIP judge's relaxed crystal), else None."""

    def to_json(self) -> dict:
        return {"value": self.value, "criteria": dict(self.criteria), "matched": dict(self.matched),
                "metrics": dict(self.metrics),
                "relaxed": to_cif(self.structure) if self.structure is not None else None}

    @classmethod
    def from_json(cls, data: Mapping, where: str) -> Judgement:
        """The judgement ``to_json`` wrote; another layout is a one-line ``UserError`` naming ``where``."""
        if not isinstance(data, Mapping) or not {"value", "criteria", "matched", "metrics"} <= set(data):
            raise UserError(f"{where}: final metrics in a layout older than the typed final result; report or "
                            "judge this run with the crystalbench that ran it (before issue 15), or run it anew")
        relaxed = data.get("relaxed")
        return cls(value=data["value"], criteria=dict(data["criteria"]), matched=dict(data["matched"]),
                   metrics=dict(data["metrics"]), structure=from_cif(relaxed) if relaxed else None)

    def scalars(self, prefix: str = "") -> dict[str, Scalar]:
        """One flat row: ``value``, each criterion, ``<criterion>.matched`` and each metric, names prefixed."""
        row = {f"{prefix}value": self.value, **{f"{prefix}{k}": bool(v) for k, v in self.criteria.items()}}
        row |= {f"{prefix}{k}.matched": v for k, v in self.matched.items()}
        return row | {f"{prefix}{k}": v for k, v in self.metrics.items()}


@dataclass(frozen=True)
class FinalResult:
    """What ``Problem.finalize`` returns: the trial's final structure and its own model's judgement of it."""

    structure: Structure
    """The structure the trial ends with, which judges score after the search."""
    own: Judgement

    def to_json(self) -> dict:
        return {**self.own.to_json(), "structure": to_cif(self.structure)}

    @staticmethod
    def structure_of(data: Mapping, where: str) -> Structure:
        """The final structure of a stored ``to_json`` (a ``ValueError`` when its CIF does not parse)."""
        Judgement.from_json(data, where)
        return from_cif(data.get("structure") or "")
