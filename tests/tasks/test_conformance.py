"""Every built-in task passes the conformance kit a third-party task runs (crystalbench.testing.check_task)."""

from __future__ import annotations

import pytest

from crystalbench.api import get_task
from crystalbench.testing import check_task

CASES = {"electronegativity": ({}, None), "formation_energy": ({}, None), "csp26": ({"relax_steps": 50}, ["NaCl"])}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_built_in_task_passes_the_conformance_kit(name, task_store, bundled_dataset):
    params, problems = CASES[name]
    check_task(get_task(name)(**params), task_store, bundled_dataset, problems=problems)
