"""The budget-keeping oracle wrapper: budget, penalty, NaN and broken oracles."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from crystalbench.harness.oracle import BudgetedOracle, BudgetExceeded


def rocksalt() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def overlapping() -> Structure:
    """Valid by the papers' definition (a CIF round trip) but two atoms 0.1 Å apart."""
    return Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.025, 0, 0]])


def sites_count(structures):
    return np.array([np.nan if s is None else float(len(s)) for s in structures])


def test_values_scores_and_validity():
    oracle = BudgetedOracle(sites_count, budget=5, invalid_penalty=99.0)
    ev = oracle([rocksalt(), None, overlapping()])
    assert ev.values[0] == 8 and np.isnan(ev.values[1]) and ev.values[2] == 2
    assert ev.scores.tolist() == [8.0, 99.0, 2.0]
    assert ev.valid.tolist() == [True, False, True]
    assert ev.structurally_valid.tolist() == [True, False, False]
    assert ev.compositionally_valid.tolist() == [True, False, True], "NaCl is charge neutral, overlap or not"
    assert oracle.calls == 3 and oracle.remaining == 2 and ev.seconds > 0


def test_budget_is_enforced():
    oracle = BudgetedOracle(sites_count, budget=2, invalid_penalty=0.0)
    oracle([rocksalt()])
    with pytest.raises(BudgetExceeded, match="2 oracle calls requested, 1 of 2 left"):
        oracle([rocksalt(), rocksalt()])
    assert oracle.calls == 1, "a refused call spends nothing"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_from_the_oracle_score_the_penalty(bad):
    oracle = BudgetedOracle(lambda s: np.array([bad, 1.0]), budget=2, invalid_penalty=-7.0)
    ev = oracle([rocksalt(), rocksalt()])
    assert np.isnan(ev.values[0]) and ev.scores.tolist() == [-7.0, 1.0]
    assert ev.valid.tolist() == [True, True], "validity is the structure's, not the value's"


def test_the_oracle_never_sees_invalid_structures():
    seen = []
    BudgetedOracle(lambda s: seen.extend(s) or np.zeros(len(s)), budget=3, invalid_penalty=0.0)(
        [None, Structure(Lattice.cubic(4.0), [], []), rocksalt()]
    )
    assert seen[0] is None and seen[1] is None and isinstance(seen[2], Structure)


def test_an_oracle_returning_the_wrong_shape_is_an_error():
    oracle = BudgetedOracle(lambda s: np.zeros(3), budget=5, invalid_penalty=0.0)
    with pytest.raises(RuntimeError, match=r"oracle returned shape \(3,\) for 1 structures"):
        oracle([rocksalt()])


def test_budget_must_be_positive():
    with pytest.raises(ValueError):
        BudgetedOracle(sites_count, budget=0, invalid_penalty=0.0)
