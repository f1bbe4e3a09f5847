"""Parameters checked against their type hints: one helper for the spec's plugin parameters and method configs.

A plugin's spec parameters are its constructor's keywords, and a method's nested
settings are dataclasses; ``check_params`` checks both against their annotations with
pydantic in strict mode — no silent coercion: 2.5 is not an int, "3" is not a number,
a bool is not an int — so a wrong type, an unknown name or a missing value is one line
that says where (``tasks[0].params.n_initial: input should be a valid integer, got 2.5``)
before anything runs. Ranges and relations between values stay with the class.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from crystalbench.harness.errors import UserError

MAX_SHOWN = 60
"""Characters of an offending value shown in an error line."""


def check_params(target: type | Callable, params: Mapping[str, Any], where: str) -> None:
    """Raise a one-line ``UserError`` naming ``where.<name>`` unless ``params`` fit ``target``'s keywords.

    ``target``: a class (its ``__init__``, or its fields for a dataclass) or a function.
    Unannotated parameters accept anything; a ``**kwargs`` parameter accepts any name.
    """
    try:
        _model_of(target).model_validate(dict(params))
    except ValidationError as exc:
        raise UserError(_first_error(exc, where, target)) from None


@functools.cache
def _model_of(target: type | Callable) -> type[BaseModel]:
    if dataclasses.is_dataclass(target):
        hints = typing.get_type_hints(target)
        fields = {f.name: (hints[f.name], ... if _required(f) else None) for f in dataclasses.fields(target)
                  if f.init}
        return create_model(f"{target.__name__}Params", __config__=_config(extra=False), **fields)
    fields, extra = _keywords(target)
    return create_model(f"{getattr(target, '__name__', 'target')}Params", __config__=_config(extra), **fields)


def _keywords(target: type | Callable) -> tuple[dict[str, tuple], bool]:
    """(name -> (type, default marker), whether any name goes) of ``target``'s keywords.

    A class whose ``__init__`` takes ``**kwargs`` passes them on to its base's ``__init__``
    (the ``super().__init__(**common)`` pattern), so the base's keywords are included.
    """
    function = target.__init__ if inspect.isclass(target) else target
    hints = typing.get_type_hints(function)
    fields, extra = {}, False
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "self" or parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = True
            continue
        required = parameter.default is inspect.Parameter.empty
        fields[name] = (hints.get(name, Any), ... if required else None)
    if extra and inspect.isclass(target):
        base = next((b for b in target.__mro__[1:] if "__init__" in vars(b)), object)
        if base is not object:
            inherited, extra = _keywords(base)
            fields = inherited | fields
    return fields, extra


def _required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _config(extra: bool) -> ConfigDict:
    """Strict types; defaults are not validated (they are the author's, not the user's)."""
    return ConfigDict(strict=True, extra="allow" if extra else "forbid", arbitrary_types_allowed=True,
                      validate_default=False)


def _first_error(exc: ValidationError, where: str, target: type | Callable) -> str:
    error = exc.errors(include_url=False)[0]
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        accepted = ", ".join(_model_of(target).model_fields) or "none"
        return f"{where}: unknown parameter {name!r} (accepted: {accepted})"
    if error["type"] == "missing":
        return f"{where}.{name}: required"
    shown = repr(error["input"])
    shown = shown if len(shown) <= MAX_SHOWN else shown[:MAX_SHOWN] + "…"
    message = error["msg"][0].lower() + error["msg"][1:]
    return f"{where}.{name}: {message}, got {shown}"


class Settings:
    """Base of a method's frozen dataclass of settings (a trained model's hyperparameters, say).

    Construction checks the fields against their types (``check_params``), widens ints
    given for float fields, so ``w: 5`` and ``w: 5.0`` are one setting (and one artifact
    key), then runs ``check``, where a subclass puts its ranges and relations (raise
    ``UserError``). ``from_params`` builds it from a spec mapping, unknown names included
    in the one-line errors.
    """

    where: typing.ClassVar[str] = "settings"
    """How error lines name these settings (e.g. ``cdvae``, ``stack``)."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> typing.Self:
        """The settings of a spec mapping; a wrong name, type or value is a one-line ``UserError``."""
        params = dict(params or {})
        check_params(cls, params, cls.where)
        return cls(**params)

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        check_params(type(self), values, self.where)
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = values[f.name]
            if hints[f.name] is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
        self.check()

    def check(self) -> None:
        """Ranges and relations between the settings (a one-line ``UserError`` each); none by default."""
