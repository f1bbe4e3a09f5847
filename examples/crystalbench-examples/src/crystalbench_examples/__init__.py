"""Example crystalbench plugins (docs/plugins.md): ``mutation_search`` (a method) and ``band_gap`` (a task)."""
