"""The conformance kit catches the plugins that break the contract, and names the broken check."""

from __future__ import annotations

import re

import numpy as np
import pytest

from crystalbench.api import ArtifactStore, Dataset
from crystalbench.methods.database import Database
from crystalbench.tasks.electronegativity import Electronegativity
from crystalbench.testing import ConformanceError, check_method, check_task


@pytest.fixture(scope="module")
def kit(small_dataset_csv, tmp_path_factory):
    return ArtifactStore(tmp_path_factory.mktemp("kit")), Dataset.from_file(small_dataset_csv)


class OverAsks(Database):
    name = "over_asks"

    def ask(self, n):
        return super().ask(n + 1)


class IgnoresItsRng(Database):
    name = "ignores_its_rng"

    def setup(self, problem, artifact_dir, rng):
        super().setup(problem, artifact_dir, np.random.default_rng())


class RefusesNan(Database):
    name = "refuses_nan"

    def tell(self, structures, values):
        if np.isnan(values).any():
            raise ValueError("NaN")


class ForgetsItsPlace(Database):
    name = "forgets_its_place"

    def load_state_dict(self, state):
        self._next = 0


class BatchDependent(Electronegativity):
    """An oracle whose value of a structure depends on what else is in the batch."""

    def load_problem(self, name, dataset, artifact_dir, seed=0):
        problem = super().load_problem(name, dataset, artifact_dir, seed)
        oracle = problem.oracle
        return type(problem)(**{**problem.__dict__, "oracle": lambda structures: oracle(structures) + len(structures)})


class OffersMagic(Electronegativity):
    offers = Electronegativity.offers | {"magic"}


def test_a_conforming_method_and_task_pass(kit):
    store, dataset = kit
    check_task(Electronegativity(), store, dataset)
    check_method(Database, {}, Electronegativity(), store, dataset)


@pytest.mark.parametrize(("method", "check"), [
    (OverAsks, "ask: ask(2) must return a list of 1..2 candidates"),
    (IgnoresItsRng, "determinism: two runs with seed 0 proposed differently"),
    (RefusesNan, "tell: told the invalid penalty and NaN, the method raised ValueError('NaN')"),
    (ForgetsItsPlace, "state round trip"),
])
def test_a_method_breaking_the_contract_fails_the_named_check(kit, method, check):
    store, dataset = kit
    with pytest.raises(ConformanceError, match="^" + re.escape(check)):
        check_method(method, {}, Electronegativity(), store, dataset)


@pytest.mark.parametrize(("task", "check"), [
    (BatchDependent, "oracle batching"),
    (OffersMagic, "offers: unknown capabilities ['magic']"),
])
def test_a_task_breaking_the_contract_fails_the_named_check(kit, task, check):
    store, dataset = kit
    with pytest.raises(ConformanceError, match="^" + re.escape(check)):
        check_task(task(), store, dataset)


def test_a_method_is_not_run_on_a_task_lacking_what_it_requires(kit):
    store, dataset = kit

    class NeedsFixedComposition(Database):
        name = "needs_fixed_composition"
        requires = frozenset({"fixed_composition"})

    with pytest.raises(ConformanceError, match="compatibility: needs_fixed_composition requires"):
        check_method(NeedsFixedComposition, {}, Electronegativity(), store, dataset)
