"""The content-addressed artifact store: build once, reuse, and one build under concurrency."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from crystalbench.harness.store import ArtifactStore


def slow_build(out: Path) -> None:
    (out / "built_by").write_text(str(mp.current_process().pid))
    time.sleep(1.0)
    counter = out.parent.parent / "builds"
    with open(counter, "a") as f:
        f.write("x")


def build_in_process(root: str) -> str:
    return str(ArtifactStore(root).get_or_build("model", {"n": 1}, slow_build))


def test_concurrent_builders_build_once(tmp_path: Path):
    with mp.get_context("spawn").Pool(3) as pool:
        paths = pool.map(build_in_process, [str(tmp_path)] * 3)
    assert len(set(paths)) == 1
    assert (tmp_path / "builds").read_text() == "x", "one build, the others waited and reused it"


def test_same_key_reuses_and_other_key_builds(tmp_path: Path):
    store = ArtifactStore(tmp_path)
    calls = []
    first = store.get_or_build("m", {"a": 1}, lambda out: calls.append(out))
    again = store.get_or_build("m", {"a": 1}, lambda out: calls.append(out))
    other = store.get_or_build("m", {"a": 2}, lambda out: calls.append(out))
    assert first == again != other and len(calls) == 2


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path):
    store = ArtifactStore(tmp_path)

    def broken(out: Path) -> None:
        (out / "half").write_text("partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.get_or_build("m", {"a": 1}, broken)
    assert not store.path("m", {"a": 1}).exists()
    assert list((tmp_path / "m").iterdir()) == []
