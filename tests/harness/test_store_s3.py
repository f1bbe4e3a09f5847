"""The artifact store with its root in S3 (a moto server on loopback): publish, download, concurrent builders.

Separate cache directories (``CRYSTALBENCH_CACHE``) stand for separate nodes: nothing
but the bucket is shared between them. This module imports little, so the spawned
builders start fast.
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import fsspec
import pytest

from crystalbench.harness.store import ArtifactStore, local_artifact
from tests.helpers import S3_BUCKET


def as_node(cache: Path) -> None:
    os.environ["CRYSTALBENCH_CACHE"] = str(cache)


def slow_build(counter: Path, out: Path) -> None:
    """Two files that must agree (a mixed artifact would not), a pause for the others to collide, a tally."""
    (out / "built_by").write_text(str(os.getpid()))
    time.sleep(1.0)
    (out / "also_built_by").write_text(str(os.getpid()))
    with open(counter, "a") as f:
        f.write("x")


def build_on_node(root: str, cache: str, counter: str) -> tuple[str, str, str]:
    as_node(Path(cache))
    path = ArtifactStore(root).get_or_build("model", {"n": 1}, functools.partial(slow_build, Path(counter)))
    return str(path), (path / "built_by").read_text(), (path / "also_built_by").read_text()


def build_concurrently(root: str, caches: list[Path], counter: Path) -> list[tuple[str, str, str]]:
    with mp.get_context("spawn").Pool(3) as pool:
        return pool.starmap(build_on_node, [(root, str(c), str(counter)) for c in caches])


def test_an_artifact_built_on_one_node_is_downloaded_not_rebuilt_on_another(s3, tmp_path):
    root, fs = f"s3://{S3_BUCKET}/roundtrip", fsspec.filesystem("s3")
    as_node(tmp_path / "node_a")
    built = ArtifactStore(root).get_or_build("model", {"n": 1}, lambda out: (out / "w.txt").write_text("weights"))
    assert built.is_relative_to(tmp_path / "node_a")
    name = ArtifactStore(root).where(built / "w.txt")  # what a prepare step hands to trials
    assert name == f"{root}/model/{built.name}/w.txt"
    marker = json.loads(fs.cat_file(f"{S3_BUCKET}/roundtrip/model/{built.name}/key.json"))
    assert marker["key"]["n"] == 1
    assert fs.cat_file(f"{S3_BUCKET}/roundtrip/model/{built.name}/{marker['build']}/w.txt") == b"weights"

    as_node(tmp_path / "node_b")

    def must_not_build(out: Path) -> None:
        raise AssertionError("the published artifact must be reused")

    fetched = ArtifactStore(root).get_or_build("model", {"n": 1}, must_not_build)
    assert fetched.is_relative_to(tmp_path / "node_b") and (fetched / "w.txt").read_text() == "weights"
    assert (fetched / "key.json").read_text() == (built / "key.json").read_text()

    as_node(tmp_path / "node_c")  # a trial on a third node resolves the name
    assert local_artifact(name).read_text() == "weights"
    assert local_artifact(name).is_relative_to(tmp_path / "node_c")


def test_an_upload_without_key_json_is_not_an_artifact(s3, tmp_path):
    as_node(tmp_path / "node")
    digest = "a" * 64
    fsspec.filesystem("s3").pipe_file(f"{S3_BUCKET}/half/model/{digest}/b1/w.txt", b"half")
    with pytest.raises(FileNotFoundError, match="not published"):
        local_artifact(f"s3://{S3_BUCKET}/half/model/{digest}")


def test_a_failed_build_publishes_nothing(s3, tmp_path):
    as_node(tmp_path / "node")

    def broken(out: Path) -> None:
        (out / "half").write_text("partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ArtifactStore(f"s3://{S3_BUCKET}/broken").get_or_build("m", {"a": 1}, broken)
    assert not fsspec.filesystem("s3").exists(f"{S3_BUCKET}/broken/m")


def test_three_builders_on_one_node_build_once(s3, tmp_path):
    results = build_concurrently(f"s3://{S3_BUCKET}/one_node", [tmp_path / "cache"] * 3, tmp_path / "builds")
    assert len(set(results)) == 1 and results[0][1] == results[0][2]
    assert (tmp_path / "builds").read_text() == "x", "one build, the others waited and reused it"


def test_three_builders_on_three_nodes_all_use_the_one_published_build(s3, tmp_path):
    results = build_concurrently(f"s3://{S3_BUCKET}/three_nodes", [tmp_path / f"node_{i}" for i in range(3)],
                                 tmp_path / "builds")
    assert all(a == b for _, a, b in results), "no node sees files of two builds mixed"
    assert len({built_by for _, built_by, _ in results}) == 1, "losers discard their build and take the winner's"
    fs = fsspec.filesystem("s3")
    (digest_dir,) = fs.ls(f"{S3_BUCKET}/three_nodes/model")
    assert len(fs.ls(digest_dir)) == 2, "key.json and the published build: the losers' uploads are deleted"
