"""The built-in optimisers, one folder or module per method family (docs/architecture.md).

Each is declared as a ``crystalbench.methods`` entry point in pyproject.toml and imported
only when a spec or ``crystalbench list`` first names it.
"""
