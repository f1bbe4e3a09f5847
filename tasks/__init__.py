"""The built-in tasks, one module or folder per task (docs/architecture.md).

Each is declared as a ``crystalbench.tasks`` entry point in pyproject.toml and imported
only when a spec or ``crystalbench list`` first names it.
"""
