"""The contract's parameter check: plugin constructors and method settings, by their type hints, in one line."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from crystalbench.api import UserError
from crystalbench.api.params import Settings, check_params


class Base:
    def __init__(self, steps: int = 5, size: float = 0.1):
        pass


class Child(Base):
    def __init__(self, mode: Literal["fast", "exact"] = "fast", note: str | None = None, **common):
        super().__init__(**common)


@dataclasses.dataclass(frozen=True)
class Knobs(Settings):
    where = "knobs"
    width: int = 4
    rate: float = 0.5

    def check(self) -> None:
        if self.width < 1:
            raise UserError(f"knobs.width must be >= 1, got {self.width}")


@pytest.mark.parametrize(("params", "message"), [
    ({"steps": 2.5}, "m.steps: input should be a valid integer, got 2.5"),
    ({"steps": "3"}, "m.steps: input should be a valid integer, got '3'"),
    ({"steps": True}, "m.steps: input should be a valid integer, got True"),
    ({"size": "big"}, "m.size: input should be a valid number, got 'big'"),
    ({"mode": "slow"}, "m.mode: input should be 'fast' or 'exact', got 'slow'"),
    ({"colour": 1}, "m: unknown parameter 'colour' (accepted: steps, size, mode, note)"),
    ({"note": "x" * 500}, None),
    ({"steps": list(range(1000))}, "m.steps: input should be a valid integer, got [0, 1, 2"),
])
def test_a_wrong_name_or_type_is_one_line_naming_the_parameter(params, message):
    if message is None:
        check_params(Child, params, "m")
        return
    with pytest.raises(UserError) as caught:
        check_params(Child, params, "m")
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text and len(text) < 200


def test_keywords_passed_on_to_the_base_are_checked_against_the_base():
    check_params(Child, {"steps": 3, "size": 1, "mode": "exact"}, "m")  # an int is a valid float
    with pytest.raises(UserError, match="m.size: input should be a valid number"):
        check_params(Child, {"size": [1.0]}, "m")


def test_settings_widen_ints_check_types_and_ranges_and_name_unknown_keys():
    assert Knobs(rate=1) == Knobs(rate=1.0) and isinstance(Knobs(rate=1).rate, float)
    with pytest.raises(UserError, match="knobs.width: input should be a valid integer, got 2.5"):
        Knobs(width=2.5)
    with pytest.raises(UserError, match="knobs.width must be >= 1, got 0"):
        Knobs.from_params({"width": 0})
    with pytest.raises(UserError, match=r"knobs: unknown parameter 'depth' \(accepted: width, rate\)"):
        Knobs.from_params({"depth": 2})
