"""Methods and tasks by name: the built-ins, entry points, and plugin modules named in a spec."""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, TypeVar

from harness.errors import UserError

if TYPE_CHECKING:
    from methods.base import Method
    from tasks.base import Task

METHODS: dict[str, type["Method"]] = {}
TASKS: dict[str, type["Task"]] = {}
ENTRY_POINT_GROUPS = ("crystalbench.methods", "crystalbench.tasks")

T = TypeVar("T")


def register_method(cls: type[T]) -> type[T]:
    """Class decorator: make a Method subclass available under ``cls.name``."""
    _register(METHODS, cls, "method")
    return cls


def register_task(cls: type[T]) -> type[T]:
    """Class decorator: make a Task subclass available under ``cls.name``."""
    _register(TASKS, cls, "task")
    return cls


def _register(table: dict, cls: type, kind: str) -> None:
    existing = table.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"{kind} name {cls.name!r} is registered twice ({existing.__module__}, {cls.__module__})")
    table[cls.name] = cls


def load(plugins: list[str] = ()) -> None:
    """Import the built-in methods and tasks, installed entry points, and the given plugin modules."""
    importlib.import_module("methods")
    importlib.import_module("tasks")
    for group in ENTRY_POINT_GROUPS:
        for ep in entry_points(group=group):
            ep.load()
    for module in plugins:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UserError(f"cannot import plugin module {module!r}: {exc}") from exc


def get_method(name: str) -> type["Method"]:
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def get_task(name: str) -> type["Task"]:
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def incompatibility(method: str, task: str) -> str | None:
    """Why ``method`` cannot run on ``task``, or None if it can."""
    allowed = get_method(method).compatible_tasks
    if allowed is not None and task not in allowed:
        return f"{method} supports only {', '.join(sorted(allowed))}"
    return None


def construct(cls: type[T], params: dict, what: str) -> T:
    """``cls(**params)``, with unknown parameters and rejected values reported as one-line UserErrors."""
    signature = inspect.signature(cls.__init__)
    try:
        signature.bind(None, **params)
    except TypeError as exc:
        accepted = [p for p in signature.parameters if p != "self"]
        raise UserError(f"{what}: {exc}; accepted parameters: {accepted or 'none'}") from exc
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{what}: {exc}") from exc
