"""Results of the Ray tasks a driver waits on (the prepare step): their errors as one line, not Ray's traceback.

``ray.get`` re-raises a task's exception wrapped in a ``RayTaskError`` whose text is the
remote traceback, coloured for a terminal. A ``UserError`` raised inside a task (a bad
dataset file, a filter that keeps nothing) is the user's to fix, so ``get`` re-raises it as
the one line it is. Anything else is a failure of the step: ``StepFailed`` carries one line
for the console and the whole remote traceback for a file.
"""

from __future__ import annotations

import re

from crystalbench.harness.errors import UserError

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class StepFailed(Exception):
    """A step of the sweep failed in a Ray task for a reason that is not the user's input."""

    def __init__(self, message: str, traceback: str):
        super().__init__(message)
        self.traceback = traceback
        self.saved_to: str | None = None
        """Where the sweep kept ``traceback`` (set by the sweep)."""


def get(ref, what: str):
    """``ray.get(ref)``; a ``UserError`` of the task as itself, any other failure as ``StepFailed`` naming ``what``.

    Ray is imported here, not with the module, so the command line can name ``StepFailed`` cheaply.
    """
    import ray
    from ray.exceptions import RayError, RayTaskError

    try:
        return ray.get(ref)
    except RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, UserError):
            raise UserError(str(cause)) from None
        raise StepFailed(f"{what} failed: {_one_line(cause)}", ANSI.sub("", str(exc))) from None
    except RayError as exc:  # the worker died (out of memory, killed), the node went away
        raise StepFailed(f"{what} failed: {_one_line(exc)}", ANSI.sub("", str(exc))) from None


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in ANSI.sub("", str(exc)).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:300] if lines else 'no message'}"
