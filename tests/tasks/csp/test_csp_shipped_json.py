"""The shipped csp26 tables survive concurrent regeneration runs."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from crystalbench.tasks.csp import shipped_json


def _add_rows(path: str, prefix: str, n: int) -> None:
    for i in range(n):
        shipped_json.set_entry(Path(path), {"rows": {}}, "rows", f"{prefix}{i}", {"i": i})


def test_concurrent_writers_lose_no_entry(tmp_path):
    path = tmp_path / "table.json"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_add_rows, args=(str(path), prefix, 40)) for prefix in "ab"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    rows = json.loads(path.read_text())["rows"]
    assert rows == {f"{prefix}{i}": {"i": i} for prefix in "ab" for i in range(40)}


def test_read_gives_the_default_until_the_file_exists(tmp_path):
    path = tmp_path / "table.json"
    default = {"rows": {}}
    assert shipped_json.read(path, default) == {"rows": {}}
    shipped_json.update(path, default, lambda document: document["rows"].update(x=1))
    assert shipped_json.read(path, default) == {"rows": {"x": 1}}
    assert default == {"rows": {}}, "the caller's default is never changed"
