"""Locations: one code path for local paths, file:// URIs and object stores (S3 via a moto server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crystalbench.harness.errors import UserError
from crystalbench.harness.storage import location
from tests.helpers import S3_BUCKET


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "root")
    request.getfixturevalue("s3")
    return f"s3://{S3_BUCKET}/storage/{request.node.originalname}"


def test_a_plain_path_and_a_file_uri_are_one_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain, uri, relative = location(tmp_path / "x"), location((tmp_path / "x").as_uri()), location("x")
    assert plain == uri == relative and plain.is_local
    assert str(plain) == str(tmp_path / "x") and plain.local_dir() == tmp_path / "x"


def test_a_remote_location_is_mirrored_under_the_node_cache(s3, monkeypatch, tmp_path):
    monkeypatch.setenv("CRYSTALBENCH_CACHE", str(tmp_path / "cache"))
    remote = location(f"s3://{S3_BUCKET}/runs/a")
    assert not remote.is_local and str(remote) == f"s3://{S3_BUCKET}/runs/a"
    assert remote.local_dir() == tmp_path / "cache" / "s3" / S3_BUCKET / "runs" / "a"


def test_whole_file_writes_and_exclusive_creation(root):
    f = location(root) / "deep" / "state.json"
    assert not f.exists()
    f.write_text("one")
    f.write_text("two")
    assert f.read_text() == "two" and f.is_file()
    with pytest.raises(FileExistsError):
        f.write_text("three", exclusive=True)
    (location(root) / "new.json").write_text("first", exclusive=True)
    assert (location(root) / "new.json").read_text() == "first"
    assert [p.name for p in location(root).glob("*/*.json")] == ["state.json"]


def test_upload_and_download_copy_a_tree(root, tmp_path):
    source = tmp_path / "source"
    (source / "a" / "b").mkdir(parents=True)
    (source / "top.txt").write_text("top")
    (source / "a" / "b" / "leaf.bin").write_bytes(b"\x00\x01")
    tree = location(root) / "tree"
    tree.upload(source)
    assert tree.files() == ["a/b/leaf.bin", "top.txt"]
    tree.download(tmp_path / "copy")
    assert (tmp_path / "copy" / "a" / "b" / "leaf.bin").read_bytes() == b"\x00\x01"
    tree.remove()
    assert not tree.exists()


def test_an_unwritable_location_is_one_line(s3):
    with pytest.raises(UserError, match=r"^storage.run_dir s3://no-such-bucket/x is not writable: FileNotFoundError"):
        location("s3://no-such-bucket/x").check_writable("storage.run_dir")
    with pytest.raises(UserError, match="unknown storage protocol 'nosuch'"):
        location("nosuch://x")


def test_a_local_write_leaves_no_temporary_file(tmp_path: Path):
    (location(tmp_path) / "h.parquet").write_bytes(b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["h.parquet"]


def test_a_local_writability_check_leaves_no_directory_behind(tmp_path: Path):
    run_dir = tmp_path / "runs" / "a"
    location(run_dir).check_writable("storage.run_dir")
    assert not (tmp_path / "runs").exists()
    (tmp_path / "kept").mkdir()
    location(tmp_path / "kept").check_writable("storage.run_dir")
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())
