"""crystalbench's engine: spec, registry, runner, oracle wrapper, tracking, store, report, CLI (docs/architecture.md)."""
