"""Entry point of ``ray submit cluster/<cloud>.yaml cluster/submit.py -- SPEC [run options]``.

``ray submit`` copies this file to the head node and runs it there, where the
project is installed (the cluster YAMLs' setup_commands). It runs the sweep on
the cluster (``--address auto`` unless given) exactly as ``crystalbench run``
does; a relative SPEC is looked up in the working directory, then in the
installed checkout (so ``configs/nightly.yaml`` works from the head's home).
"""

from __future__ import annotations

import sys
from pathlib import Path

import crystalbench.harness
from crystalbench.harness.cli import main

CHECKOUT = Path(crystalbench.harness.__file__).resolve().parent.parent


def resolve_spec(argv: list[str]) -> list[str]:
    """``argv`` with its first argument (the spec) made absolute against the checkout when needed."""
    if argv and not argv[0].startswith("-") and not Path(argv[0]).exists() and (CHECKOUT / argv[0]).exists():
        argv = [str(CHECKOUT / argv[0]), *argv[1:]]
    return argv


if __name__ == "__main__":
    args = resolve_spec(sys.argv[1:])
    if "--address" not in args:
        args += ["--address", "auto"]
    sys.exit(main(["run", *args]))
