"""Fixtures of the harness tests: the catalogue of malformed inputs and faults, written out as its cases run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CATALOGUE_ENV = "CRYSTALBENCH_CATALOGUE"
"""Set to a path to have the session write the table of every catalogue case it ran (Markdown)."""


@dataclass
class Catalogue:
    """Rows of (case, exit code, the line the user saw), in the order the cases ran."""

    rows: list[tuple[str, str, int, str]] = field(default_factory=list)

    def add(self, case: str, defect: str, code: int, line: str) -> None:
        self.rows.append((case, defect, code, line))

    def markdown(self) -> str:
        lines = ["# Catalogue of malformed inputs and faults", "",
                 f"{len(self.rows)} cases, written by the test suite (`{CATALOGUE_ENV}=$PWD/tests/harness/catalogue.md "
                 "pytest tests/harness/test_catalogue.py tests/harness/test_lock.py tests/harness/test_faults.py`). "
                 "`defect`: its number in issue 18 (blank: a case handled well before it). A path of the test's "
                 "temporary directory is shown as `<tmp>`.", "",
                 "| # | case | defect | exit | what the user sees |", "|---|---|---|---|---|"]
        for i, (case, defect, code, line) in enumerate(self.rows, start=1):
            lines.append(f"| {i} | {case} | {defect} | {code} | `{line.replace('|', '/').replace('`', chr(39))}` |")
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def catalogue():
    book = Catalogue()
    yield book
    if os.environ.get(CATALOGUE_ENV) and book.rows:
        Path(os.environ[CATALOGUE_ENV]).write_text(book.markdown())
