"""The import graph keeps the contract between the engine and the plugins (docs/architecture.md).

Every module of the crystalbench package is parsed (imports inside functions
included) and each import is checked against who may depend on whom:

* methods and tasks import the contract (``crystalbench.api``), never the engine;
* the engine imports the contract, never a particular method or task;
* the contract imports only the leaf modules it re-exports, which import nothing else of ours;
* no import cycle spans two of these parts;
* a method imports no task module (and a task no method module).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"crystalbench": REPO / "crystalbench", "crystalbench.harness": REPO / "harness",
           "crystalbench.methods": REPO / "methods", "crystalbench.tasks": REPO / "tasks"}
LEAVES = {f"crystalbench.harness.{m}" for m in ("errors", "crystal", "dataset", "storage", "store", "history",
                                                "seeding")}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = modules()


def imports_of(name: str, path: Path) -> Iterator[str]:
    """Our modules that ``name`` imports (a ``from X import Y`` counts X.Y when Y is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from (t for t in targets if t in MODULES)


GRAPH = {name: set(imports_of(name, path)) for name, path in MODULES.items()}


def part(module: str) -> str:
    """``api``, ``engine``, ``methods``, ``tasks``, ``physics`` (a library tasks share) or ``root``.

    The conformance kit (``crystalbench.testing``) drives plugins through the engine's
    budgeted oracle, so it counts as engine: it too may not import a particular plugin.
    """
    if module == "crystalbench":
        return "root"
    return {"api": "api", "harness": "engine", "testing": "engine", "methods": "methods",
            "tasks": "tasks", "physics": "physics"}[module.split(".")[1]]


def edges(source_part: str) -> list[tuple[str, str]]:
    return sorted((m, t) for m, targets in GRAPH.items() if part(m) == source_part for t in targets)


def test_the_graph_sees_the_modules_and_their_imports():
    assert {"crystalbench.api", "crystalbench.harness.sweep", "crystalbench.methods.lcom.lcom",
            "crystalbench.tasks.csp.task"} <= MODULES.keys()
    assert "crystalbench.api" in GRAPH["crystalbench.methods.database"]
    assert "crystalbench.api.registry" in GRAPH["crystalbench.harness.sweep"]


@pytest.mark.parametrize("plugins", ["methods", "tasks"])
def test_plugins_import_the_contract_and_never_the_engine(plugins):
    assert [(m, t) for m, t in edges(plugins) if part(t) == "engine"] == []


def test_the_engine_imports_no_method_or_task():
    assert [(m, t) for m, t in edges("engine") if part(t) in ("methods", "tasks")] == []


def test_the_contract_imports_only_its_leaf_modules():
    assert [(m, t) for m, t in edges("api") if part(t) != "api" and t not in LEAVES | {"crystalbench"}] == []


def test_the_shared_physics_imports_only_the_contract_and_itself():
    assert [(m, t) for m, t in edges("physics") if part(t) not in ("api", "physics", "root") and t not in LEAVES] == []
    assert [(m, t) for m, t in edges("engine") + edges("methods") if part(t) == "physics"] == []


def test_the_leaf_modules_import_only_leaves():
    assert [(m, t) for m in sorted(LEAVES) for t in sorted(GRAPH[m]) if t not in LEAVES | {"crystalbench"}] == []


def test_no_method_imports_a_task_and_no_task_a_method():
    assert [(m, t) for m, t in edges("methods") if part(t) == "tasks"] == []
    assert [(m, t) for m, t in edges("tasks") if part(t) == "methods"] == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of ``graph`` (iterative, so deep packages do not recurse)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]; counter[0] += 1
                    stack.append(child); on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop(); on_stack.discard(member); component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_no_import_cycle_spans_two_parts():
    mixed = [sorted(c) for c in strongly_connected(GRAPH) if len({part(m) for m in c}) > 1]
    assert mixed == []


def test_the_cycle_check_finds_a_cycle_between_engine_and_plugin():
    graph = {"crystalbench.harness.runner": {"crystalbench.methods.base"},
             "crystalbench.methods.base": {"crystalbench.harness.runner"}}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [sorted(graph)]
