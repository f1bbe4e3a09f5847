"""crystalbench: a benchmarking harness for crystal-design optimisers.

One import name holds everything: ``crystalbench.api`` is the contract a method or task
plugin uses; ``crystalbench.harness`` is the engine (spec, sweep, runner, tracking,
report, CLI); ``crystalbench.methods`` and ``crystalbench.tasks`` are the built-in
plugins; ``crystalbench.testing`` is the conformance kit. The folders keep their
top-level places in the repository (``harness/``, ``methods/``, ``tasks/``) and are
mapped into this package by ``setup.py``; ``cluster/`` holds deployment files, not code
to import.
See docs/architecture.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crystalbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
