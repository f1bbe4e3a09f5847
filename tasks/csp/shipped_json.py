"""Read-modify-write of the shipped csp26 data files, safe against concurrent writers.

The GPAW tables take hours to regenerate, so their commands are run as several
processes over disjoint compounds or elements. Each process merges its entry
into the file as it is on disk at that moment, under an exclusive lock, so no
process overwrites what another one wrote since it started.
"""

from __future__ import annotations

import copy
import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crystalbench.api import atomic_write_text


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read(path: Path, default: dict) -> dict:
    """The file's document, or a copy of ``default`` when it does not exist yet (``default`` is never changed)."""
    return json.loads(path.read_text()) if path.exists() else copy.deepcopy(default)


def update(path: Path, default: dict, change: Callable[[dict], None]) -> dict:
    """Apply ``change`` to the document on disk (or to ``default``) and write it back whole; returns it."""
    with _locked(path):
        document = read(path, default)
        change(document)
        atomic_write_text(path, json.dumps(document, indent=1) + "\n")
    return document


def set_entry(path: Path, default: dict, section: str, key: str, value: dict) -> dict:
    """Set ``document[section][key] = value`` in the file on disk (see ``update``); returns the document."""

    def change(document: dict) -> None:
        document[section][key] = value

    return update(path, default, change)
