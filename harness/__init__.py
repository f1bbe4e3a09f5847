"""crystalbench's engine: spec, registry, runner, oracle wrapper, tracking, store, report, CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crystalbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
