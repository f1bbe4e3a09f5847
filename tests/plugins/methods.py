"""Methods used by the tests, registered through the spec's ``plugins`` list like a user's own methods."""

from __future__ import annotations

import os
import time

import numpy as np

from crystalbench.api import capabilities, register_method
from crystalbench.methods.database import Database


@register_method
class FailOnSeed(Database):
    """The database baseline, except that it raises in ask() after a few calls when the seed matches."""

    name = "fail_on_seed"

    def __init__(self, seed_to_fail: int = 1, after_calls: int = 3):
        self.seed_to_fail = seed_to_fail
        self.after_calls = after_calls

    def setup(self, problem, artifact_dir, rng):
        super().setup(problem, artifact_dir, rng)
        self.seed = rng.bit_generator.seed_seq.entropy[0]

    def ask(self, n):
        if self.seed == self.seed_to_fail and self._next >= self.after_calls:
            self.fail()
        return super().ask(n)

    def fail(self):
        raise RuntimeError("deliberate failure for the test")


@register_method
class InterruptedOnSeed(FailOnSeed):
    """Raises KeyboardInterrupt in ask() when the seed matches, as a stopped sweep does inside its trials."""

    name = "interrupted_on_seed"

    def fail(self):
        raise KeyboardInterrupt


@register_method
class FixedCompositionOnly(Database):
    """A method that requires a capability only structure-prediction tasks offer."""

    name = "fixed_composition_only"
    requires = frozenset({capabilities.FIXED_COMPOSITION})


@register_method
class ReturnsGarbage(Database):
    """Proposes a None, an invalid structure and then a string, to exercise the harness's checks."""

    name = "returns_garbage"

    def ask(self, n):
        return ["not a structure"]

    def tell(self, structures, values):
        assert np.all(np.isfinite(values))


@register_method
class DiesOnSeed(FailOnSeed):
    """Kills its own worker process (no exception, no cleanup) when the seed matches: a killed trial."""

    name = "dies_on_seed"

    def fail(self):
        os._exit(1)


@register_method
class SlowDatabase(Database):
    """The database baseline, sleeping in every ask: trials long enough to be interrupted."""

    name = "slow_database"

    def __init__(self, seconds_per_ask: float = 0.2):
        self.seconds_per_ask = seconds_per_ask

    def ask(self, n):
        time.sleep(self.seconds_per_ask)
        return super().ask(n)


@register_method
class Traced(Database):
    """The database baseline that also keeps a trace: the number of candidates of every ``tell``."""

    name = "traced"

    def setup(self, problem, artifact_dir, rng):
        super().setup(problem, artifact_dir, rng)
        self.told: list[int] = []

    def tell(self, structures, values):
        super().tell(structures, values)
        self.told.append(len(structures))

    def trace(self):
        return {"told": self.told}
