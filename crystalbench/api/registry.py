"""Methods and tasks by name: installed entry points, loaded lazily, and plugin modules named in a spec.

An installed distribution (crystalbench itself included) declares its plugins as entry
points in the groups ``crystalbench.methods`` and ``crystalbench.tasks``; the entry
point's name is the plugin's name and its object the class. A class is imported only
when its name is first looked up (or when every name is listed). A module on the
path, named in a spec's ``plugins:``, registers its classes with ``@register_method``
or ``@register_task`` when imported.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, TypeVar

from crystalbench.api.params import check_params
from crystalbench.harness.errors import UserError

if TYPE_CHECKING:
    from crystalbench.api.method import Method
    from crystalbench.api.task import Task

METHOD_GROUP = "crystalbench.methods"
TASK_GROUP = "crystalbench.tasks"

_METHODS: dict[str, type[Method]] = {}
_TASKS: dict[str, type[Task]] = {}

T = TypeVar("T")


def register_method(cls: type[T]) -> type[T]:
    """Class decorator for a plugin module: make a Method subclass available under ``cls.name``."""
    _register(_METHODS, cls, "method")
    return cls


def register_task(cls: type[T]) -> type[T]:
    """Class decorator for a plugin module: make a Task subclass available under ``cls.name``."""
    _register(_TASKS, cls, "task")
    return cls


def _register(table: dict, cls: type, kind: str) -> None:
    existing = table.get(cls.name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"{kind} name {cls.name!r} is registered twice ({existing.__module__}, {cls.__module__})")
    table[cls.name] = cls


def _from_entry_point(group: str, table: dict, name: str, kind: str) -> bool:
    """Load entry point ``name`` of ``group`` into ``table``; False if no installed distribution declares it."""
    found = entry_points(group=group, name=name)
    for ep in found:
        cls = ep.load()
        if getattr(cls, "name", None) != name:
            raise ValueError(f"entry point {group}:{name} ({ep.value}) is a {kind} named {getattr(cls, 'name', None)!r}")
        _register(table, cls, kind)
    return bool(found)


def _all(group: str, table: dict, kind: str) -> dict:
    for ep in entry_points(group=group):
        if ep.name not in table:
            _from_entry_point(group, table, ep.name, kind)
    return table


def method_names() -> list[str]:
    """Every known method: installed entry points (loaded now) and registered plugin modules, sorted."""
    return sorted(_all(METHOD_GROUP, _METHODS, "method"))


def task_names() -> list[str]:
    """Every known task: installed entry points (loaded now) and registered plugin modules, sorted."""
    return sorted(_all(TASK_GROUP, _TASKS, "task"))


def get_method(name: str) -> type[Method]:
    """The method class called ``name``; a one-line UserError naming the known ones if there is none."""
    if name not in _METHODS and not _from_entry_point(METHOD_GROUP, _METHODS, name, "method"):
        raise UserError(f"unknown method {name!r}; known: {', '.join(method_names())}")
    return _METHODS[name]


def get_task(name: str) -> type[Task]:
    """The task class called ``name``; a one-line UserError naming the known ones if there is none."""
    if name not in _TASKS and not _from_entry_point(TASK_GROUP, _TASKS, name, "task"):
        raise UserError(f"unknown task {name!r}; known: {', '.join(task_names())}")
    return _TASKS[name]


def load(plugins: list[str] = ()) -> None:
    """Import the spec's plugin modules (installed entry points need nothing: they load on first lookup)."""
    for module in plugins:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UserError(f"cannot import plugin module {module!r}: {exc}") from exc


def incompatibility(method: str, task: str) -> str | None:
    """Why ``method`` cannot run on ``task`` (the capabilities it requires that the task does not offer), or None."""
    return missing_capabilities(get_method(method), get_task(task))


def missing_capabilities(method: type[Method], task: type[Task] | Task) -> str | None:
    """``incompatibility`` for classes (or a configured task), registered or not: the conformance kit's check too."""
    missing = method.requires - task.offers
    if missing:
        return f"{method.name} requires {', '.join(sorted(missing))}, which {task.name} does not offer"
    return None


def construct(cls: type[T], params: dict, where: str) -> T:
    """``cls(**params)`` for the spec entry at ``where``: unknown names, wrong types (``check_params``) and
    values the constructor rejects are one-line ``UserError``s naming ``where.params.<name>``."""
    check_params(cls, params, f"{where}.params")
    try:
        return cls(**params)
    except (TypeError, ValueError, UserError) as exc:
        raise UserError(f"{where} ({cls.name}): {exc}") from exc
